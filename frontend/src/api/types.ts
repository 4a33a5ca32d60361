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

// Imports: files, folders, ZIP archives and NIfTI volumes sent to the backend in batches.

export type ImportStatus = 'open' | 'processing' | 'completed' | 'cancelled' | 'failed';

export type ImportOutcome = 'stored' | 'duplicate' | 'rejected' | 'skipped';

export type ImportCounters = { filesReceived: number; bytesReceived: number; instancesStored: number; duplicates: number; rejected: number; skipped: number };

export type ImportedStudy = { studyInstanceUid: string; patientKey: string | null; patientId: string; patientName: string; studyDescription: string };

export type ImportJob = {
  id: string;
  /** Not in the contract's shape; shown when the server sends it (it stores the label given at creation). */
  label?: string;
  ownerGroup: GroupRef;
  createdBy: { id: string | null; email: string | null };
  status: ImportStatus;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  error: string | null;
  counters: ImportCounters;
  /** Readable sentences, e.g. a PatientID registered under another name. */
  warnings: string[];
  studies: ImportedStudy[];
};

export type ImportFileResult = {
  seq: number;
  /** "a.dcm", or "archive.zip!dir/b.dcm" for a file inside an archive. */
  name: string;
  outcome: ImportOutcome;
  reason: string | null;
  instances: number;
  studyInstanceUid: string | null;
};

/** What a NIfTI volume lacks and the server needs to make DICOM of it. */
export type NiftiFields = {
  patientName: string;
  patientId: string;
  studyDescription: string;
  modality: 'CT' | 'MR' | '';
  seriesDescription: string;
  /** YYYYMMDD or ''. */
  patientBirthDate: string;
  patientSex: 'M' | 'F' | 'O' | '';
};

// The patient registry.

export type PatientSummary = {
  key: string;
  patientId: string;
  /** DICOM PN, e.g. DOE^JOHN. */
  patientName: string;
  /** YYYYMMDD or ''. */
  birthDate: string;
  sex: string;
  studyCount: number;
  lastStudyDate: string;
  modalities: string[];
  groups: GroupRef[];
};

export type Patient = { key: string; patientId: string; patientName: string; birthDate: string; sex: string };

export type SeriesSummary = {
  seriesInstanceUid: string;
  modality: string;
  seriesNumber: number | null;
  seriesDescription: string;
  instanceCount: number;
  /** Same-origin PNG; may answer 404 for series without pixels. */
  thumbnailUrl: string;
};

export type StudyDetail = {
  studyInstanceUid: string;
  patientKey: string | null;
  patientId: string;
  patientName: string;
  studyDate: string;
  studyDescription: string;
  accessionNumber: string;
  modalities: string[];
  instanceCount: number;
  ownerGroup: GroupRef;
  sharedWith: GroupRef[];
  series: SeriesSummary[];
};

// AI segmentation: models of the inference service, jobs that run them, and the SEG results.

export type InferenceModel = {
  name: string;
  /** Label name → voxel value in the label map. */
  labels: Record<string, number>;
  /** The modality the model was made for (CT, MR), or null when it does not say. */
  modality: string | null;
  description: string;
  version: string;
  dimension: number | null;
};

export type InferenceModels = { service: string; version: string; models: InferenceModel[] };

export type InferenceJobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export type InferenceStage = 'queued' | 'fetching' | 'building-volume' | 'inferring' | 'encoding-seg' | 'storing' | 'done';

export type InferenceJob = {
  id: string;
  studyInstanceUid: string;
  seriesInstanceUids: string[];
  model: string;
  params: Record<string, unknown>;
  status: InferenceJobStatus;
  stage: InferenceStage;
  attempts: number;
  /** Why it failed; on a queued job, why the last attempt failed before the retry. */
  error: string | null;
  /** The id of the user who submitted it. */
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  resultId: string | null;
};

export type ValidationStatus = 'pending' | 'approved' | 'rejected';

export type Segment = {
  number: number;
  labelValue: number;
  label: string;
  /** RGB, 0–255. */
  color: [number, number, number] | number[];
  voxelCount: number;
  volumeCm3: number;
};

export type SegmentationResult = {
  id: string;
  jobId: string;
  studyInstanceUid: string;
  /** YYYYMMDD or ''. */
  studyDate: string;
  studyDescription: string;
  patient: { key: string | null; patientId: string; patientName: string };
  sourceSeriesUid: string;
  segSeriesUid: string;
  segSopInstanceUid: string;
  model: string;
  modelVersion: string;
  createdAt: string;
  validation: { status: ValidationStatus; comment: string | null; by: string | null; at: string | null };
  segments: Segment[];
};

export type HistoryPoint = { resultId: string; studyInstanceUid: string; studyDate: string; volumeCm3: number; validationStatus: string };

/** One label's volume across the patient's studies (same model), oldest study first. */
export type VolumeHistory = { label: string; points: HistoryPoint[] }[];

export type SegmentationDetail = { result: SegmentationResult; history: VolumeHistory };

export type KeySlice = {
  segmentNumber: number;
  label: string;
  /** 0-based, along the source volume. */
  sliceIndex: number;
  sopInstanceUid: string;
  /** PNG of the source slice. */
  imageUrl: string;
  /** PNG of the same size: the segment in its colour, transparent elsewhere. */
  maskUrl: string;
};
