import type { Redis } from 'ioredis';
import type { AppConfig } from '../config.js';
import type { Db } from '../db/client.js';
import type { Role, TokenScope } from '../db/schema.js';
import type { OrthancClient } from '../orthanc/client.js';
import type { InferenceQueue } from '../inference/queue.js';
import type { Logger } from './logger.js';

/** Long-lived dependencies, created once at start. */
export type AppDeps = {
  config: AppConfig;
  db: Db;
  redis: Redis;
  orthanc: OrthancClient;
  /** Segmentation jobs wait here (BullMQ on Redis) for the worker. */
  inferenceQueue: InferenceQueue;
  log: Logger;
};

export type GroupRef = { id: string; name: string };

export type SessionUser = { id: string; email: string; displayName: string; role: Role; mustChangePassword: boolean; groups: GroupRef[] };

/** How the caller proved who they are. */
export type Credential =
  | { via: 'session'; sessionId: string }
  | { via: 'token'; tokenId: string; scope: TokenScope }
  | { via: 'share'; linkId: string; studyInstanceUid: string };

/** What every service function receives as `ctx`: the dependencies plus who is asking. */
export type RequestCtx = AppDeps & {
  requestId: string;
  ip: string | null;
  userAgent: string | null;
  /** The signed-in user (sessions and API tokens); null for anonymous and share-link callers. */
  user: SessionUser | null;
  credential: Credential | null;
  /** Why credentials that were presented did not count (expired access token...). */
  authProblem: { status: 401 | 503; code: string; message: string } | null;
};

export type AppEnv = {
  Variables: {
    requestId: string;
    ctx: RequestCtx;
  };
};
