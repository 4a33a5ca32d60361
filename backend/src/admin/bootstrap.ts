import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { writeAudit } from '../audit/audit.service.js';
import { generatePassword, hashPassword } from '../auth/password.js';
import type { Db } from '../db/client.js';
import { users } from '../db/schema.js';

export type BootstrapResult = { created: true; email: string; password: string } | { created: false; email: string | null };

/**
 * Creates the first admin with a generated password, only when no admin exists yet.
 * The password is returned once for the launcher to print and is never stored in clear.
 */
export async function bootstrapFirstAdmin({ db, input }: { db: Db; input: { email: string } }): Promise<BootstrapResult> {
  const existing = db.select({ email: users.email }).from(users).where(eq(users.role, 'admin')).get();
  if (existing) return { created: false, email: existing.email };
  const password = generatePassword();
  const passwordHash = await hashPassword(password);
  const email = input.email.trim().toLowerCase();
  return db.transaction((tx) => {
    // Re-checked inside the transaction: two launchers racing must not create two admins.
    const raced = tx.select({ email: users.email }).from(users).where(eq(users.role, 'admin')).get();
    if (raced) return { created: false as const, email: raced.email };
    const id = randomUUID();
    tx.insert(users).values({ id, email, displayName: 'Administrator', role: 'admin', passwordHash, mustChangePassword: true }).run();
    writeAudit(tx, { userId: null, role: 'system', email: null, ip: null, requestId: null }, { action: 'user.create', outcome: 'success', targetType: 'user', targetId: id, details: { email, role: 'admin', by: 'stack launcher' } });
    return { created: true as const, email, password };
  });
}
