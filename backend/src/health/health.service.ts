import { sql } from 'drizzle-orm';
import type { AppDeps } from '../lib/context.js';

export type DependencyName = 'orthanc' | 'redis' | 'database' | 'inference';
export type DependencyCheck = {
  status: 'up' | 'down' | 'not_configured';
  required: boolean;
  latencyMs: number | null;
  detail?: string;
};
export type HealthReport = {
  status: 'ok' | 'unavailable';
  failing: DependencyName[];
  checks: Record<DependencyName, DependencyCheck>;
};

async function timed(required: boolean, timeoutMs: number, probe: (signal: AbortSignal) => Promise<string | undefined>): Promise<DependencyCheck> {
  const started = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const detail = await Promise.race([
      probe(signal),
      new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error(`no answer within ${timeoutMs} ms`)), { once: true })),
    ]);
    return { status: 'up', required, latencyMs: Math.round((performance.now() - started) * 10) / 10, ...(detail ? { detail } : {}) };
  } catch (error) {
    return { status: 'down', required, latencyMs: null, detail: describe(error) };
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code ?? ((error as { cause?: { code?: string } }).cause?.code);
    return code ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/** Probes every dependency in parallel; the report names each one that is down. */
export async function checkHealth({ ctx }: { ctx: AppDeps }): Promise<HealthReport> {
  const { config } = ctx;
  const timeout = config.healthTimeoutMs;
  const [orthanc, redis, database, inference] = await Promise.all([
    timed(true, timeout, async (signal) => `Orthanc ${(await ctx.orthanc.system(signal)).Version}`),
    timed(true, timeout, async () => {
      await ctx.redis.ping();
      return undefined;
    }),
    timed(true, timeout, async () => {
      ctx.db.get(sql`select 1`);
      return undefined;
    }),
    config.inference.url
      ? timed(config.inference.required, timeout, async (signal) => {
          const response = await fetch(`${config.inference.url}/info`, { signal });
          await response.body?.cancel();
          if (!response.ok) throw new Error(`GET /info answered ${response.status}`);
          return undefined;
        })
      : Promise.resolve<DependencyCheck>({ status: 'not_configured', required: false, latencyMs: null }),
  ]);
  const checks = { orthanc, redis, database, inference };
  const failing = (Object.keys(checks) as DependencyName[]).filter((name) => checks[name].required && checks[name].status !== 'up');
  return { status: failing.length ? 'unavailable' : 'ok', failing, checks };
}
