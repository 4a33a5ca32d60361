import { sql } from 'drizzle-orm';
import { blob, index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

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
    // 'inbox': the one group that receives studies nobody claimed (C-STORE from an unknown AE title).
    // It has no members, so only admins see what lands there.
    kind: text('kind', { enum: ['standard', 'inbox'] }).notNull().default('standard'),
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

/** Patients as Orthanc groups them (one per PatientID); `key` is Orthanc's patient id. */
export const patients = sqliteTable(
  'patients',
  {
    key: text('key').primaryKey(),
    patientId: text('patient_id').notNull().default(''),
    patientName: text('patient_name').notNull().default(''),
    birthDate: text('birth_date').notNull().default(''),
    sex: text('sex').notNull().default(''),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [index('patients_patient_id_idx').on(t.patientId)],
);

export const studySources = ['import', 'stow', 'dicom', 'archive'] as const;

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
    orthancId: text('orthanc_id'),
    patientKey: text('patient_key').references(() => patients.key, { onDelete: 'set null' }),
    accessionNumber: text('accession_number').notNull().default(''),
    instanceCount: integer('instance_count').notNull().default(0),
    // How the study first arrived: our import, STOW-RS, a DICOM C-STORE, or found in Orthanc.
    source: text('source', { enum: studySources }).notNull().default('stow'),
    syncedAt: integer('synced_at', { mode: 'timestamp_ms' }),
  },
  (t) => [index('studies_owner_idx').on(t.ownerGroupId), index('studies_patient_idx').on(t.patientKey), index('studies_date_idx').on(t.studyDate), uniqueIndex('studies_orthanc_unique').on(t.orthancId)],
);

export const series = sqliteTable(
  'series',
  {
    seriesInstanceUid: text('series_instance_uid').primaryKey(),
    studyInstanceUid: text('study_instance_uid')
      .notNull()
      .references(() => studies.studyInstanceUid, { onDelete: 'cascade' }),
    orthancId: text('orthanc_id').notNull(),
    modality: text('modality').notNull().default(''),
    seriesNumber: integer('series_number'),
    seriesDescription: text('series_description').notNull().default(''),
    bodyPart: text('body_part').notNull().default(''),
    instanceCount: integer('instance_count').notNull().default(0),
  },
  (t) => [index('series_study_idx').on(t.studyInstanceUid), index('series_modality_idx').on(t.modality)],
);

/** Small key/value state the backend keeps between restarts (e.g. the Orthanc change-feed position). */
export const systemState = sqliteTable('system_state', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
});

export const importStatuses = ['open', 'processing', 'completed', 'cancelled', 'failed'] as const;
export type ImportStatus = (typeof importStatuses)[number];

export const importJobs = sqliteTable(
  'import_jobs',
  {
    id: text('id').primaryKey(),
    ownerGroupId: text('owner_group_id')
      .notNull()
      .references(() => groups.id, { onDelete: 'cascade' }),
    createdBy: text('created_by'),
    createdByEmail: text('created_by_email'),
    label: text('label').notNull().default(''),
    status: text('status', { enum: importStatuses }).notNull(),
    filesReceived: integer('files_received').notNull().default(0),
    bytesReceived: integer('bytes_received').notNull().default(0),
    instancesStored: integer('instances_stored').notNull().default(0),
    duplicates: integer('duplicates').notNull().default(0),
    rejected: integer('rejected').notNull().default(0),
    skipped: integer('skipped').notNull().default(0),
    warnings: text('warnings', { mode: 'json' }).$type<string[]>().notNull().default([]),
    studyUids: text('study_uids', { mode: 'json' }).$type<string[]>().notNull().default([]),
    error: text('error'),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
    finishedAt: integer('finished_at', { mode: 'timestamp_ms' }),
  },
  (t) => [index('import_jobs_creator_idx').on(t.createdBy), index('import_jobs_created_idx').on(t.createdAt)],
);

export const importOutcomes = ['stored', 'duplicate', 'rejected', 'skipped'] as const;
export type ImportOutcome = (typeof importOutcomes)[number];

export const importFiles = sqliteTable(
  'import_files',
  {
    jobId: text('job_id')
      .notNull()
      .references(() => importJobs.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    name: text('name').notNull(),
    outcome: text('outcome', { enum: importOutcomes }).notNull(),
    reason: text('reason'),
    instances: integer('instances').notNull().default(0),
    studyInstanceUid: text('study_instance_uid'),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.seq] }), index('import_files_outcome_idx').on(t.jobId, t.outcome)],
);

/**
 * A study an import is about to bring into Orthanc for the first time, written before the
 * first instance is posted. If the backend dies between Orthanc storing that instance and
 * the registry claiming the study, this row still says whose it is (registry sync and a
 * re-import honour it); it is removed once the study is registered.
 */
export const pendingClaims = sqliteTable(
  'pending_claims',
  {
    studyInstanceUid: text('study_instance_uid').notNull(),
    ownerGroupId: text('owner_group_id')
      .notNull()
      .references(() => groups.id, { onDelete: 'cascade' }),
    importJobId: text('import_job_id').notNull(),
    createdBy: text('created_by'),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.studyInstanceUid, t.ownerGroupId] })],
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

export const inferenceStatuses = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type InferenceStatus = (typeof inferenceStatuses)[number];
export const inferenceStages = ['queued', 'fetching', 'building-volume', 'inferring', 'encoding-seg', 'storing', 'done'] as const;
export type InferenceStage = (typeof inferenceStages)[number];

/** One segmentation request: source series (several for multi-channel models), model, progress. */
export const inferenceJobs = sqliteTable(
  'inference_jobs',
  {
    id: text('id').primaryKey(),
    // Same request (model, series, params) → same key, so a repeated submit finds the existing job.
    // Cleared when a job fails or is cancelled, so the request can be tried again.
    requestKey: text('request_key'),
    studyInstanceUid: text('study_instance_uid')
      .notNull()
      .references(() => studies.studyInstanceUid, { onDelete: 'cascade' }),
    seriesInstanceUids: text('series_instance_uids', { mode: 'json' }).$type<string[]>().notNull(),
    model: text('model').notNull(),
    params: text('params', { mode: 'json' }).$type<Record<string, unknown>>().notNull().default({}),
    status: text('status', { enum: inferenceStatuses }).notNull(),
    stage: text('stage', { enum: inferenceStages }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    error: text('error'),
    createdBy: text('created_by'),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
    finishedAt: integer('finished_at', { mode: 'timestamp_ms' }),
  },
  (t) => [uniqueIndex('inference_jobs_request_key_unique').on(t.requestKey), index('inference_jobs_study_idx').on(t.studyInstanceUid)],
);

export const validationStatuses = ['pending', 'approved', 'rejected'] as const;
export type ValidationStatus = (typeof validationStatuses)[number];

/** A stored SEG made by a job, with its volumetrics and review. */
export const segmentationResults = sqliteTable(
  'segmentation_results',
  {
    id: text('id').primaryKey(),
    jobId: text('job_id')
      .notNull()
      .references(() => inferenceJobs.id, { onDelete: 'cascade' }),
    studyInstanceUid: text('study_instance_uid')
      .notNull()
      .references(() => studies.studyInstanceUid, { onDelete: 'cascade' }),
    sourceSeriesUid: text('source_series_uid').notNull(),
    segSeriesUid: text('seg_series_uid').notNull(),
    segSopInstanceUid: text('seg_sop_instance_uid').notNull(),
    model: text('model').notNull(),
    modelVersion: text('model_version').notNull().default(''),
    voxelVolumeMm3: real('voxel_volume_mm3').notNull(),
    validationStatus: text('validation_status', { enum: validationStatuses }).notNull().default('pending'),
    validationComment: text('validation_comment'),
    validatedBy: text('validated_by'),
    validatedByEmail: text('validated_by_email'),
    validatedAt: integer('validated_at', { mode: 'timestamp_ms' }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('segmentation_results_job_unique').on(t.jobId), index('segmentation_results_study_idx').on(t.studyInstanceUid)],
);

export const segments = sqliteTable(
  'segments',
  {
    resultId: text('result_id')
      .notNull()
      .references(() => segmentationResults.id, { onDelete: 'cascade' }),
    number: integer('number').notNull(),
    labelValue: integer('label_value').notNull(),
    label: text('label').notNull(),
    color: text('color', { mode: 'json' }).$type<[number, number, number]>().notNull(),
    voxelCount: integer('voxel_count').notNull(),
    volumeCm3: real('volume_cm3').notNull(),
    // The slice where the segment is largest, and its mask as a small RGBA PNG, for reports.
    keySliceIndex: integer('key_slice_index').notNull(),
    keySliceSopInstanceUid: text('key_slice_sop_instance_uid').notNull(),
    keySliceMaskPng: blob('key_slice_mask_png', { mode: 'buffer' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.resultId, t.number] })],
);

export const exportStatuses = ['running', 'completed', 'failed', 'cancelled'] as const;
export type ExportStatus = (typeof exportStatuses)[number];
export type ExportOptions = {
  format: 'dicom' | 'nifti' | 'both';
  deidentify: boolean;
  deidOptions: string[];
  includeBurnedIn: boolean;
};

/** An export bundle: what was asked, progress, and the finished ZIP waiting for its download. */
export const exportJobs = sqliteTable(
  'export_jobs',
  {
    id: text('id').primaryKey(),
    createdBy: text('created_by').notNull(),
    createdByEmail: text('created_by_email').notNull(),
    status: text('status', { enum: exportStatuses }).notNull(),
    options: text('options', { mode: 'json' }).$type<ExportOptions>().notNull(),
    purpose: text('purpose').notNull(),
    recipient: text('recipient').notNull(),
    studyUids: text('study_uids', { mode: 'json' }).$type<string[]>().notNull(),
    instancesTotal: integer('instances_total').notNull().default(0),
    instancesDone: integer('instances_done').notNull().default(0),
    filesWritten: integer('files_written').notNull().default(0),
    bytesWritten: integer('bytes_written').notNull().default(0),
    flagged: text('flagged', { mode: 'json' }).$type<{ seriesInstanceUid: string; reason: string; excluded: boolean }[]>().notNull().default([]),
    filePath: text('file_path'),
    error: text('error'),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
    finishedAt: integer('finished_at', { mode: 'timestamp_ms' }),
    expiresAt: integer('expires_at', { mode: 'timestamp_ms' }),
  },
  (t) => [index('export_jobs_creator_idx').on(t.createdBy), index('export_jobs_created_idx').on(t.createdAt)],
);

/** The data-use ledger: what left, to whom, for what, per owning group. Written when an export completes. */
export const exportLedger = sqliteTable(
  'export_ledger',
  {
    exportId: text('export_id').notNull(),
    groupId: text('group_id').notNull(),
    groupName: text('group_name').notNull(),
    at: integer('at', { mode: 'timestamp_ms' }).notNull(),
    exportedBy: text('exported_by').notNull(),
    recipient: text('recipient').notNull(),
    purpose: text('purpose').notNull(),
    deidentified: integer('deidentified', { mode: 'boolean' }).notNull(),
    studyCount: integer('study_count').notNull(),
    instanceCount: integer('instance_count').notNull(),
    bytes: integer('bytes').notNull(),
  },
  (t) => [primaryKey({ columns: [t.exportId, t.groupId] }), index('export_ledger_at_idx').on(t.at), index('export_ledger_recipient_idx').on(t.recipient)],
);

/** Stable pseudonyms: the same patient exported by the same group always gets the same one. */
export const pseudonyms = sqliteTable(
  'pseudonyms',
  {
    groupId: text('group_id').notNull(),
    patientKey: text('patient_key').notNull(),
    pseudonym: text('pseudonym').notNull(),
    dateOffsetDays: integer('date_offset_days').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.groupId, t.patientKey] }), uniqueIndex('pseudonyms_value_unique').on(t.pseudonym)],
);
