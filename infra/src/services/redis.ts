import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ManagedProcess, waitUntilHealthy } from '../process.js';
import { renderTemplate } from '../templates.js';

export type RedisOptions = { bin: string; port: number; password: string; dataDir: string; configDir: string; logDir: string; startTimeoutMs: number };

/** Sends AUTH + PING over a plain socket: no client library needed to know Redis answers. */
export function pingRedis(port: number, password: string, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let received = '';
    const done = (error?: Error) => {
      socket.destroy();
      if (error) reject(error);
    };
    socket.setTimeout(timeoutMs, () => done(new Error('no answer')));
    socket.on('error', (error) => done(error));
    socket.on('connect', () => socket.write(`AUTH ${password}\r\nPING\r\n`));
    socket.on('data', (chunk) => {
      received += chunk.toString();
      if (received.includes('+PONG')) {
        done();
        resolvePromise(true);
      } else if (received.startsWith('-')) done(new Error(received.trim()));
    });
  });
}

export function renderRedisConfig(options: { bind: string; port: number; password: string; dataDir: string }): string {
  return renderTemplate('infra/templates/redis.conf.tmpl', { BIND: options.bind, PORT: options.port, PASSWORD: options.password, DATA_DIR: options.dataDir });
}

export async function startRedis(options: RedisOptions): Promise<ManagedProcess> {
  mkdirSync(options.dataDir, { recursive: true });
  const configFile = join(options.configDir, 'redis.conf');
  writeFileSync(configFile, renderRedisConfig({ bind: '127.0.0.1', port: options.port, password: options.password, dataDir: options.dataDir }), { mode: 0o600 });
  const proc = new ManagedProcess({ name: 'redis', command: options.bin, args: [configFile], logFile: join(options.logDir, 'redis.log') });
  await waitUntilHealthy(proc, () => pingRedis(options.port, options.password), options.startTimeoutMs);
  return proc;
}
