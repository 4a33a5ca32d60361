import type { Db, Tx } from '../db/client.js';
import { auditLog } from '../db/schema.js';

export type AuditActor = { userId: string | null; role: string | null; email: string | null; ip: string | null; requestId: string | null };

export type AuditEntry = {
  action: `${string}.${string}`;
  outcome: 'success' | 'failure' | 'denied';
  targetType?: string;
  targetId?: string;
  /** Never put secrets here: this is shown to admins and exported as CSV. */
  details?: Record<string, unknown>;
};

/** Appends one audit row. Call it with the transaction that makes the change it records. */
export function writeAudit(tx: Tx | Db, actor: AuditActor, entry: AuditEntry): void {
  tx.insert(auditLog)
    .values({
      at: new Date(),
      actorUserId: actor.userId,
      actorRole: actor.role,
      actorEmail: actor.email,
      ip: actor.ip,
      requestId: actor.requestId,
      action: entry.action,
      outcome: entry.outcome,
      targetType: entry.targetType ?? null,
      targetId: entry.targetId ?? null,
      details: entry.details ?? null,
    })
    .run();
}

/** The acting user as the audit trail records them. */
export function actorOf(ctx: { ip: string | null; requestId: string; credential?: { via: string } | null }, user: { id: string; role: string; email: string } | null): AuditActor {
  return { userId: user?.id ?? null, role: user?.role ?? null, email: user?.email ?? null, ip: ctx.ip, requestId: ctx.requestId };
}
