import type { Redis } from 'ioredis';
import type { AppConfig } from '../config.js';
import type { Db } from '../db/client.js';
import type { Role } from '../db/schema.js';
import type { OrthancClient } from '../orthanc/client.js';
import type { Logger } from './logger.js';

/** Long-lived dependencies, created once at start. */
export type AppDeps = {
  config: AppConfig;
  db: Db;
  redis: Redis;
  orthanc: OrthancClient;
  log: Logger;
};

export type SessionUser = { id: string; email: string; displayName: string; role: Role; mustChangePassword: boolean };

/** What every service function receives as `ctx`: the dependencies plus who is asking. */
export type RequestCtx = AppDeps & {
  requestId: string;
  ip: string | null;
  userAgent: string | null;
  user: SessionUser | null;
  sessionId: string | null;
};

export type AppEnv = {
  Variables: {
    requestId: string;
    ctx: RequestCtx;
  };
};
