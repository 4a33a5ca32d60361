import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

export const roles = ['admin', 'researcher', 'radiologist'] as const;
export type Role = (typeof roles)[number];

const createdAt = () =>
  integer('created_at', { mode: 'timestamp_ms' })
    .notNull()
    .default(sql`(unixepoch('subsec') * 1000)`);

export const users = sqliteTable(
  'users',
  {
    id: text('id').primaryKey(),
    // Stored lower-cased so uniqueness is case-insensitive.
    email: text('email').notNull(),
    displayName: text('display_name').notNull(),
    role: text('role', { enum: roles }).notNull(),
    passwordHash: text('password_hash').notNull(),
    isActive: integer('is_active', { mode: 'boolean' }).notNull().default(true),
    mustChangePassword: integer('must_change_password', { mode: 'boolean' }).notNull().default(false),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' })
      .notNull()
      .default(sql`(unixepoch('subsec') * 1000)`),
  },
  (t) => [uniqueIndex('users_email_unique').on(t.email)],
);

export const sessions = sqliteTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    lastSeenAt: integer('last_seen_at', { mode: 'timestamp_ms' }).notNull(),
    expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
    ip: text('ip'),
    userAgent: text('user_agent'),
    revokedAt: integer('revoked_at', { mode: 'timestamp_ms' }),
  },
  (t) => [index('sessions_user_idx').on(t.userId)],
);

// Append-only and without foreign keys, so rows outlive the users they name.
export const auditLog = sqliteTable(
  'audit_log',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at', { mode: 'timestamp_ms' }).notNull(),
    actorUserId: text('actor_user_id'),
    actorRole: text('actor_role'),
    actorEmail: text('actor_email'),
    ip: text('ip'),
    action: text('action').notNull(),
    targetType: text('target_type'),
    targetId: text('target_id'),
    outcome: text('outcome', { enum: ['success', 'failure', 'denied'] }).notNull(),
    details: text('details', { mode: 'json' }),
    requestId: text('request_id'),
  },
  (t) => [index('audit_at_idx').on(t.at), index('audit_actor_idx').on(t.actorUserId), index('audit_action_idx').on(t.action)],
);

export const groups = sqliteTable(
  'groups',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    // Lower-cased copy so names are unique regardless of case.
    nameKey: text('name_key').notNull(),
    description: text('description').notNull().default(''),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('groups_name_key_unique').on(t.nameKey)],
);

export const groupMembers = sqliteTable(
  'group_members',
  {
    groupId: text('group_id')
      .notNull()
      .references(() => groups.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    addedAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.groupId, t.userId] }), index('group_members_user_idx').on(t.userId)],
);

/** The registry: which group owns each study. Orthanc holds the DICOM; this holds the tenancy. */
export const studies = sqliteTable(
  'studies',
  {
    studyInstanceUid: text('study_instance_uid').primaryKey(),
    ownerGroupId: text('owner_group_id')
      .notNull()
      .references(() => groups.id, { onDelete: 'restrict' }),
    patientId: text('patient_id').notNull().default(''),
    patientName: text('patient_name').notNull().default(''),
    studyDate: text('study_date').notNull().default(''),
    studyDescription: text('study_description').notNull().default(''),
    modalities: text('modalities', { mode: 'json' }).$type<string[]>().notNull().default([]),
    createdAt: createdAt(),
    createdBy: text('created_by'),
  },
  (t) => [index('studies_owner_idx').on(t.ownerGroupId)],
);

export const studyShares = sqliteTable(
  'study_shares',
  {
    studyInstanceUid: text('study_instance_uid')
      .notNull()
      .references(() => studies.studyInstanceUid, { onDelete: 'cascade' }),
    groupId: text('group_id')
      .notNull()
      .references(() => groups.id, { onDelete: 'cascade' }),
    sharedAt: createdAt(),
    sharedBy: text('shared_by'),
  },
  (t) => [primaryKey({ columns: [t.studyInstanceUid, t.groupId] }), index('study_shares_group_idx').on(t.groupId)],
);

export const tokenScopes = ['read', 'read-write'] as const;
export type TokenScope = (typeof tokenScopes)[number];

export const apiTokens = sqliteTable(
  'api_tokens',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    // SHA-256 of the secret: the secret itself is shown once and never stored.
    tokenHash: text('token_hash').notNull(),
    prefix: text('prefix').notNull(),
    scope: text('scope', { enum: tokenScopes }).notNull(),
    createdAt: createdAt(),
    expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
    lastUsedAt: integer('last_used_at', { mode: 'timestamp_ms' }),
    revokedAt: integer('revoked_at', { mode: 'timestamp_ms' }),
  },
  (t) => [uniqueIndex('api_tokens_hash_unique').on(t.tokenHash), index('api_tokens_user_idx').on(t.userId)],
);

export const invitations = sqliteTable(
  'invitations',
  {
    id: text('id').primaryKey(),
    email: text('email').notNull(),
    role: text('role', { enum: roles }).notNull(),
    groupIds: text('group_ids', { mode: 'json' }).$type<string[]>().notNull().default([]),
    tokenHash: text('token_hash').notNull(),
    createdBy: text('created_by'),
    createdAt: createdAt(),
    expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
    acceptedAt: integer('accepted_at', { mode: 'timestamp_ms' }),
    revokedAt: integer('revoked_at', { mode: 'timestamp_ms' }),
  },
  (t) => [uniqueIndex('invitations_hash_unique').on(t.tokenHash)],
);

export const shareLinks = sqliteTable(
  'share_links',
  {
    id: text('id').primaryKey(),
    studyInstanceUid: text('study_instance_uid')
      .notNull()
      .references(() => studies.studyInstanceUid, { onDelete: 'cascade' }),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
    expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
    revokedAt: integer('revoked_at', { mode: 'timestamp_ms' }),
    useCount: integer('use_count').notNull().default(0),
    lastUsedAt: integer('last_used_at', { mode: 'timestamp_ms' }),
  },
  (t) => [index('share_links_study_idx').on(t.studyInstanceUid)],
);
