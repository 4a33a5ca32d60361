import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { writeAudit } from '../audit/audit.service.js';
import { generatePassword, hashPassword } from '../auth/password.js';
import type { Db } from '../db/client.js';
import { groupMembers, groups, users } from '../db/schema.js';

export const DEFAULT_GROUP = 'Default';

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
    // A first group, so what the admin stores (STOW, imports) has an owner from day one.
    const existingDefault = tx.select({ id: groups.id }).from(groups).where(eq(groups.nameKey, DEFAULT_GROUP.toLowerCase())).get();
    const groupId = existingDefault?.id ?? randomUUID();
    if (!existingDefault) tx.insert(groups).values({ id: groupId, name: DEFAULT_GROUP, nameKey: DEFAULT_GROUP.toLowerCase(), description: 'Created with the first admin' }).run();
    tx.insert(groupMembers).values({ groupId, userId: id }).run();
    const system = { userId: null, role: 'system', email: null, ip: null, requestId: null };
    writeAudit(tx, system, { action: 'user.create', outcome: 'success', targetType: 'user', targetId: id, details: { email, role: 'admin', by: 'stack launcher', groupId } });
    return { created: true as const, email, password };
  });
}
