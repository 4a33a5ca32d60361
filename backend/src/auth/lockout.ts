import type { AppDeps } from '../lib/context.js';
import { AppError, serviceUnavailable } from '../lib/errors.js';

// Counted per e-mail as typed (lower-cased), whether or not an account exists, so a
// lockout answer reveals nothing about which e-mails are registered.
const failKey = (kind: 'acct' | 'ip', id: string) => `pd:fail:${kind}:${id}`;
const lockKey = (kind: 'acct' | 'ip', id: string) => `pd:lock:${kind}:${id}`;
const lockCountKey = (email: string) => `pd:lockcount:acct:${email}`;

const BASE_LOCK_SECONDS = 60;
const MAX_LOCK_SECONDS = 60 * 60;

export function tooManyAttempts(retryAfterSeconds: number): AppError {
  const minutes = Math.max(1, Math.ceil(retryAfterSeconds / 60));
  return new AppError(429, 'too_many_attempts', `Too many failed sign-in attempts. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`, { retryAfterSeconds });
}

/** Throws 429 while the account or the address is locked, 503 when Redis cannot tell. */
export async function assertNotLocked(deps: AppDeps, email: string, ip: string | null): Promise<void> {
  try {
    const [accountTtl, ipTtl] = await Promise.all([deps.redis.ttl(lockKey('acct', email)), ip ? deps.redis.ttl(lockKey('ip', ip)) : Promise.resolve(-2)]);
    const remaining = Math.max(accountTtl, ipTtl);
    if (remaining > 0) throw tooManyAttempts(remaining);
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw serviceUnavailable('Sign-in is unavailable right now (session store unreachable). Try again shortly.');
  }
}

async function lockAccount(deps: AppDeps, email: string): Promise<number> {
  const locks = await deps.redis.incr(lockCountKey(email));
  await deps.redis.expire(lockCountKey(email), 24 * 60 * 60);
  const seconds = Math.min(BASE_LOCK_SECONDS * 2 ** (locks - 1), MAX_LOCK_SECONDS);
  await deps.redis.multi().set(lockKey('acct', email), '1', 'EX', seconds).del(failKey('acct', email)).exec();
  return seconds;
}

/**
 * Counts the attempt before the password is checked, atomically, so a burst of parallel
 * guesses cannot all slip in before the failures are recorded: past the threshold the
 * attempt is refused unverified and the account locks.
 */
export async function beginAttempt(deps: AppDeps, email: string, ip: string | null): Promise<void> {
  await assertNotLocked(deps, email, ip);
  const { threshold, windowSeconds } = deps.config.lockout;
  let attempts: number;
  try {
    const counted = await deps.redis.multi().incr(failKey('acct', email)).expire(failKey('acct', email), windowSeconds, 'NX').exec();
    attempts = Number(counted?.[0]?.[1] ?? 0);
  } catch {
    throw serviceUnavailable('Sign-in is unavailable right now (session store unreachable). Try again shortly.');
  }
  if (attempts > threshold) throw tooManyAttempts(await lockAccount(deps, email));
}

/**
 * A failed attempt (already counted by beginAttempt). The 5th within the window locks the
 * account for 1 minute, each later lock (within a day) twice as long, up to an hour.
 */
export async function recordFailure(deps: AppDeps, email: string, ip: string | null): Promise<void> {
  const { threshold, windowSeconds, ipFailureLimit } = deps.config.lockout;
  try {
    const count = Number((await deps.redis.get(failKey('acct', email))) ?? 0);
    if (count >= threshold) await lockAccount(deps, email);
    if (ip) {
      const ipFailures = await deps.redis.multi().incr(failKey('ip', ip)).expire(failKey('ip', ip), windowSeconds, 'NX').exec();
      if (Number(ipFailures?.[0]?.[1] ?? 0) >= ipFailureLimit) {
        await deps.redis.multi().set(lockKey('ip', ip), '1', 'EX', windowSeconds).del(failKey('ip', ip)).exec();
      }
    }
  } catch (error) {
    deps.log.error({ err: error }, 'could not record a failed sign-in');
  }
}

export async function clearFailures(deps: AppDeps, email: string): Promise<void> {
  await deps.redis.del(failKey('acct', email)).catch(() => undefined);
}

/** Whether this failure just locked the account (for the audit trail). */
export async function isLocked(deps: AppDeps, email: string): Promise<boolean> {
  return (await deps.redis.exists(lockKey('acct', email)).catch(() => 0)) === 1;
}
