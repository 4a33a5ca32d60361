import { serve } from '@hono/node-server';
import { ConfigError, loadConfig } from './config.js';
import { createApp } from './lib/create-app.js';
import { closeDeps, createDeps } from './lib/deps.js';
import { createLogger } from './lib/logger.js';
import { startWorkers } from './lib/workers.js';

let config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  throw error;
}

const log = createLogger(config.logLevel);
const deps = createDeps(config, log);
const app = createApp(deps);
const workers = startWorkers(deps);

const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (info) => {
  log.info({ host: info.address, port: info.port }, 'backend listening');
});

server.on('error', (error: NodeJS.ErrnoException) => {
  log.fatal({ err: error }, error.code === 'EADDRINUSE' ? `port ${config.port} is already in use` : 'server error');
  process.exit(1);
});

let stopping = false;
function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'backend stopping');
  const forceExit = setTimeout(() => process.exit(1), 10_000);
  forceExit.unref();
  server.close(async () => {
    await workers.stop();
    await closeDeps(deps);
    log.info('backend stopped');
    process.exit(0);
  });
  // Idle keep-alive sockets from nginx would otherwise hold close() open.
  (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
}
// A stray rejected promise must not take the whole gateway down with every request in flight.
process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled promise rejection'));
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
