import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { service: 'backend' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Never let credentials reach the log files.
      redact: {
        paths: ['password', 'currentPassword', 'newPassword', 'req.headers.cookie', 'req.headers.authorization', '*.password'],
        censor: '[redacted]',
      },
    },
    // Written off the request's path (a blocking write per request log line showed in
    // latency); pino flushes what is left when the process exits.
    pino.destination({ dest: 1, sync: false }),
  );
}
