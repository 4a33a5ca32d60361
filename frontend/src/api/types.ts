export type Role = 'admin' | 'researcher' | 'radiologist';

export const roles: Role[] = ['admin', 'researcher', 'radiologist'];

export type GroupRef = { id: string; name: string };

export type SessionUser = { id: string; email: string; displayName: string; role: Role; mustChangePassword: boolean; groups: GroupRef[] };

export type DependencyName = 'orthanc' | 'redis' | 'database' | 'inference';

export type DependencyCheck = { status: 'up' | 'down' | 'not_configured'; required: boolean; latencyMs: number | null; detail?: string };

export type HealthReport = { status: 'ok' | 'unavailable'; failing: DependencyName[]; message?: string; checks: Record<DependencyName, DependencyCheck> };

// Times below are ISO strings from the server.

/** One of my own signed-in sessions. */
export type MySession = { id: string; createdAt: string; lastSeenAt: string; ip: string | null; userAgent: string | null; current: boolean };

export type TokenScope = 'read' | 'read-write';

export type ApiToken = {
  id: string;
  name: string;
  scope: TokenScope;
  prefix: string;
  createdAt: string;
  expiresAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
};

export type InvitationPreview = { email: string; role: Role; expiresAt: string };

export type Study = {
  studyInstanceUid: string;
  patientId: string;
  patientName: string;
  /** DICOM DA: YYYYMMDD, or empty. */
  studyDate: string;
  studyDescription: string;
  modalities: string[];
  ownerGroup: GroupRef;
  sharedWith: GroupRef[];
};

export type ShareLink = {
  id: string;
  /** Absolute; opens the study in the viewer without an account. */
  url: string;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  useCount: number;
  lastUsedAt: string | null;
};

export type AdminUser = {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  isActive: boolean;
  mustChangePassword: boolean;
  createdAt: string;
  groups: GroupRef[];
};

export type Invitation = { id: string; email: string; role: Role; createdAt: string; expiresAt: string; acceptedAt: string | null; revokedAt: string | null };

export type Group = { id: string; name: string; description: string; memberCount: number; studyCount: number };

export type AdminSession = { id: string; user: { id: string; email: string }; createdAt: string; lastSeenAt: string; ip: string | null; userAgent: string | null };

export type AuditOutcome = 'success' | 'failure' | 'denied';

export type AuditEntry = {
  id: number | string;
  at: string;
  actorUserId: string | null;
  actorEmail: string | null;
  actorRole: string | null;
  ip: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  outcome: AuditOutcome;
  details: unknown;
};
