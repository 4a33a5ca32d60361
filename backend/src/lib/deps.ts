import { Redis } from 'ioredis';
import type { AppConfig } from '../config.js';
import { openDatabase } from '../db/client.js';
import { OrthancClient } from '../orthanc/client.js';
import { createInferenceQueue } from '../inference/queue.js';
import type { AppDeps } from './context.js';
import type { Logger } from './logger.js';

export function createRedis(url: string, log: Logger): Redis {
  const redis = new Redis(url, {
    // Commands wait briefly for a (re)connection, then fail: health answers 503 within
    // seconds and logins fail closed instead of hanging.
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
    commandTimeout: 2_000,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 1_000),
    lazyConnect: false,
  });
  let lastState = '';
  redis.on('error', (error) => {
    const state = `error:${(error as { code?: string }).code ?? error.message}`;
    if (state !== lastState) log.warn({ err: error }, 'redis connection problem');
    lastState = state;
  });
  redis.on('ready', () => {
    if (lastState) log.info('redis connection restored');
    lastState = '';
  });
  return redis;
}

export function createDeps(config: AppConfig, log: Logger): AppDeps {
  const deps = {
    config,
    log,
    db: openDatabase(config.databasePath),
    redis: createRedis(config.redisUrl, log),
    orthanc: new OrthancClient(config.orthanc),
  } as AppDeps;
  deps.inferenceQueue = createInferenceQueue(deps);
  return deps;
}

export async function closeDeps(deps: AppDeps): Promise<void> {
  await deps.inferenceQueue.close().catch(() => undefined);
  deps.redis.disconnect();
  await deps.orthanc.close();
  deps.db.$client.close();
}
