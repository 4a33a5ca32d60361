// The durable job queue: BullMQ on the stack's Redis. A job survives a backend restart (an
// active job whose worker died is taken over once its lock expires), retries with
// exponential backoff when the inference service fails, and ends with a reason in the DB.
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { AppDeps } from '../lib/context.js';
import { InferenceError } from './client.js';
import { failJob, JobRejection, noteRetry, runInferenceJob } from './run-job.js';

import { createHash } from 'node:crypto';

/**
 * The queue belongs to one database: two backends sharing a Redis (tests, staging beside
 * production) must not take each other's jobs.
 */
function queueName(deps: AppDeps): string {
  return `pd-inference-${createHash('sha256').update(deps.config.databasePath).digest('hex').slice(0, 12)}`;
}
type Payload = { jobId: string };

export type InferenceQueue = {
  /** Whether Redis is connected right now; a submit is refused up front when it is not. */
  connected(): boolean;
  add(jobId: string): Promise<void>;
  remove(jobId: string): Promise<void>;
  close(): Promise<void>;
};

const QUEUE_ADD_TIMEOUT_MS = 5_000;

/** BullMQ needs its own connections: blocking commands, no per-request retry limit. */
function connection(deps: AppDeps): Redis {
  const redis = new Redis(deps.config.redisUrl, { maxRetriesPerRequest: null, enableReadyCheck: false, retryStrategy: (attempt) => Math.min(attempt * 500, 5_000) });
  redis.on('error', () => undefined); // reported through health; BullMQ reconnects
  return redis;
}

export function createInferenceQueue(deps: AppDeps): InferenceQueue {
  const queueConnection = connection(deps);
  const queue = new Queue<Payload>(queueName(deps), { connection: queueConnection, prefix: 'pd:bull' });
  queue.on('error', () => undefined);
  return {
    connected: () => queueConnection.status === 'ready',
    add: async (jobId) => {
      // BullMQ's connection waits for Redis forever (maxRetriesPerRequest: null), so a request
      // must not: refuse while disconnected, and give up on an add that does not come back.
      if (queueConnection.status !== 'ready') throw new Error('Redis is not connected');
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          queue.add('segment', { jobId }, {
            jobId,
            attempts: deps.config.inference.attempts,
            backoff: { type: 'exponential', delay: deps.config.inference.backoffMs },
            removeOnComplete: 1000,
            removeOnFail: 1000,
          }),
          new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`Redis did not answer within ${QUEUE_ADD_TIMEOUT_MS / 1000} s`)), QUEUE_ADD_TIMEOUT_MS))),
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    remove: async (jobId) => {
      const job = await queue.getJob(jobId);
      // An active job cannot be removed; it notices the cancellation itself.
      if (job && !(await job.isActive())) await job.remove().catch(() => undefined);
    },
    close: async () => {
      await queue.close();
      queueConnection.disconnect();
    },
  };
}

export function startInferenceWorker(deps: AppDeps): { close(): Promise<void> } {
  const workerConnection = connection(deps);
  const worker = new Worker<Payload>(
    queueName(deps),
    async (job: Job<Payload>) => {
      try {
        await runInferenceJob(deps, job.data.jobId);
      } catch (error) {
        const attempts = job.opts.attempts ?? 1;
        const reason = (error as Error).message;
        if (error instanceof InferenceError && error.retryable && job.attemptsMade + 1 < attempts) {
          const next = deps.config.inference.backoffMs * 2 ** job.attemptsMade;
          noteRetry(deps, job.data.jobId, `attempt ${job.attemptsMade + 1} of ${attempts} failed: ${reason}`, next);
          throw error;
        }
        const final =
          error instanceof InferenceError && error.retryable
            ? `${reason} — gave up after ${attempts} attempts; check that the inference service is running (PD_INFERENCE_URL) and start the job again`
            : error instanceof InferenceError || error instanceof JobRejection
              ? reason
              : `unexpected error: ${reason}`;
        if (!(error instanceof InferenceError || error instanceof JobRejection)) deps.log.error({ err: error, jobId: job.data.jobId }, 'inference job failed');
        failJob(deps, job.data.jobId, final);
        throw new UnrecoverableError(final);
      }
    },
    {
      connection: workerConnection,
      prefix: 'pd:bull',
      concurrency: deps.config.inference.concurrency,
      lockDuration: deps.config.inference.lockMs,
      stalledInterval: deps.config.inference.lockMs,
      maxStalledCount: 5,
    },
  );
  worker.on('error', (error) => deps.log.warn({ err: error }, 'inference worker problem'));
  return {
    close: async () => {
      await worker.close(true);
      workerConnection.disconnect();
    },
  };
}
