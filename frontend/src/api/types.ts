export type Role = 'admin' | 'researcher' | 'radiologist';

export type SessionUser = { id: string; email: string; displayName: string; role: Role; mustChangePassword: boolean };

export type DependencyName = 'orthanc' | 'redis' | 'database' | 'inference';

export type DependencyCheck = { status: 'up' | 'down' | 'not_configured'; required: boolean; latencyMs: number | null; detail?: string };

export type HealthReport = { status: 'ok' | 'unavailable'; failing: DependencyName[]; message?: string; checks: Record<DependencyName, DependencyCheck> };
