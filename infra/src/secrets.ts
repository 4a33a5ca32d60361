import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';

const secretsSchema = z.object({
  orthancUser: z.string().min(1),
  orthancPassword: z.string().min(16),
  redisPassword: z.string().min(16),
});
export type StackSecrets = z.infer<typeof secretsSchema>;

const generate = () => randomBytes(24).toString('base64url');

/** Generated on first start and kept (mode 0600) so restarts keep working with the same data. */
export function loadOrCreateSecrets(path: string): StackSecrets {
  if (existsSync(path)) {
    const parsed = secretsSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    if (!parsed.success) throw new Error(`${path} is damaged (${parsed.error.issues[0]?.message}); restore it or run "./stack reset".`);
    return parsed.data;
  }
  const secrets: StackSecrets = { orthancUser: 'preview', orthancPassword: generate(), redisPassword: generate() };
  writeFileSync(path, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}
