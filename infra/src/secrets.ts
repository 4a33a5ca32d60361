import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';

const secretsSchema = z.object({
  orthancUser: z.string().min(1),
  orthancPassword: z.string().min(16),
  redisPassword: z.string().min(16),
  jwtSecret: z.string().min(32),
});
export type StackSecrets = z.infer<typeof secretsSchema>;

const generate = () => randomBytes(24).toString('base64url');

const fresh = (): StackSecrets => ({ orthancUser: 'preview', orthancPassword: generate(), redisPassword: generate(), jwtSecret: randomBytes(48).toString('base64url') });

/**
 * Generated on first start and kept (mode 0600) so restarts keep working with the same
 * data. A secret added by a newer version is generated and added; existing ones never change.
 */
export function loadOrCreateSecrets(path: string): StackSecrets {
  const stored: unknown = existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {};
  const merged = { ...fresh(), ...(typeof stored === 'object' && stored ? stored : {}) };
  const parsed = secretsSchema.safeParse(merged);
  if (!parsed.success) throw new Error(`${path} is damaged (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}); restore it or run "./stack reset".`);
  if (JSON.stringify(stored) !== JSON.stringify(parsed.data)) writeFileSync(path, `${JSON.stringify(parsed.data, null, 2)}\n`, { mode: 0o600 });
  return parsed.data;
}
