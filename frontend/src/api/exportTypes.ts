// Export bundles: ZIPs of DICOM and/or NIfTI, identified or de-identified (PS3.15), and the
// data-use ledger of what left. Times are ISO strings from the server.

export type ExportStatus = 'running' | 'completed' | 'failed' | 'cancelled';

export type ExportFormat = 'dicom' | 'nifti' | 'both';

/** The PS3.15 Annex E options the server implements on top of the Basic Profile. */
export type DeidOption = 'retainLongitudinalModifiedDates' | 'retainPatientCharacteristics' | 'cleanDescriptors' | 'retainSafePrivate';

export type ExportOptions = {
  format: ExportFormat;
  deidentify: boolean;
  /** The server sends the names it stored; unknown ones are shown as they are. */
  deidOptions: string[];
  includeBurnedIn: boolean;
};

export type ExportProgress = { instancesTotal: number; instancesDone: number; filesWritten: number; bytesWritten: number };

/** A series that may show burned-in text (US, secondary captures, BurnedInAnnotation=YES). */
export type FlaggedSeries = { seriesInstanceUid: string; reason: string; excluded: boolean };

export type ExportJob = {
  id: string;
  status: ExportStatus;
  options: ExportOptions;
  purpose: string;
  recipient: string;
  /** The e-mail of the user who started it. */
  createdBy: string;
  studyCount: number;
  progress: ExportProgress;
  flaggedSeries: FlaggedSeries[];
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
  expiresAt: string | null;
  /** Same-origin; only its creator may download, and only until `expiresAt`. */
  downloadUrl: string | null;
};

/** A patients-list search (as GET /api/patients takes it): every study of every patient it finds. */
export type ExportSearchRequest = { q?: string; modality?: string; from?: string; to?: string; groupId?: string };

export type CreateExportRequest = {
  studyInstanceUids?: string[];
  patientKeys?: string[];
  search?: ExportSearchRequest;
  format: ExportFormat;
  deidentify: boolean;
  /** Only with `deidentify`. */
  deidOptions: DeidOption[];
  includeBurnedIn: boolean;
  purpose: string;
  recipient: string;
};

export type LedgerTotals = { exports: number; studies: number; instances: number; bytes: number; deidentifiedStudies: number };

export type LedgerGroupRow = LedgerTotals & { groupId: string; groupName: string };

export type LedgerRecipientRow = LedgerTotals & { recipient: string };

/** One export's share from one owning group. */
export type LedgerEntry = {
  exportId: string;
  groupId: string;
  groupName: string;
  at: string;
  /** E-mail. */
  exportedBy: string;
  recipient: string;
  purpose: string;
  deidentified: boolean;
  studyCount: number;
  instanceCount: number;
  bytes: number;
};

export type Ledger = { byGroup: LedgerGroupRow[]; byRecipient: LedgerRecipientRow[]; entries: LedgerEntry[] };
