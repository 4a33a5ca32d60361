import type { ImportJob, NiftiFields } from '../api/types';
import { batchItems, buildImportForm, MAX_BATCH_BYTES, MAX_BATCH_FILES, sentBytes, totalBytes, type ImportItem } from './imports';

/** The server calls one import makes; the real ones post to /api/imports, tests pass stand-ins. */
export type ImportApi = {
  create: (request: { groupId: string; label?: string }) => Promise<ImportJob>;
  upload: (jobId: string, form: FormData, onProgress: (loaded: number, total: number) => void, signal: AbortSignal) => Promise<ImportJob>;
  finish: (jobId: string) => Promise<ImportJob>;
};

export type UploadProgress = { sentBytes: number; totalBytes: number; batch: number; batches: number };

export type ImportRequest = {
  items: ImportItem[];
  groupId: string;
  label?: string;
  /** The NIfTI form's values, when any file is a NIfTI volume. */
  nifti: NiftiFields | null;
  signal: AbortSignal;
  /** Every report of the job: created, after each batch, finished. The first one names the job. */
  onJob: (job: ImportJob) => void;
  onProgress: (progress: UploadProgress) => void;
  /** Every file is sent; the job is being told there are no more. */
  onFinishing?: () => void;
  limits?: { maxFiles: number; maxBytes: number };
};

export function abortError(): Error {
  return new DOMException('The import was cancelled.', 'AbortError');
}

export function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

/**
 * One import from start to end: create the job, send the files in sequential batches (so the
 * server reads them in order and memory stays small), then say there are no more. Stops with
 * an AbortError once `signal` aborts; any failed call stops it with that call's error, leaving
 * the job open (what was stored stays; the caller may cancel or finish it).
 */
export async function runImport(api: ImportApi, request: ImportRequest): Promise<ImportJob> {
  const { items, signal, onJob, onProgress } = request;
  const limits = request.limits ?? { maxFiles: MAX_BATCH_FILES, maxBytes: MAX_BATCH_BYTES };
  const batches = batchItems(items, limits.maxFiles, limits.maxBytes);
  const total = totalBytes(items);
  const report = (sent: number, batch: number) => onProgress({ sentBytes: sent, totalBytes: total, batch, batches: batches.length });

  if (signal.aborted) throw abortError();
  let job = await api.create({ groupId: request.groupId, ...(request.label ? { label: request.label } : {}) });
  onJob(job);
  report(0, 0);

  let done = 0;
  for (const [index, batch] of batches.entries()) {
    if (signal.aborted) throw abortError();
    const batchBytes = totalBytes(batch);
    const form = buildImportForm(batch, request.nifti);
    job = await api.upload(job.id, form, (loaded, size) => report(sentBytes(done, batchBytes, loaded, size), index + 1), signal);
    done += batchBytes;
    report(done, index + 1);
    onJob(job);
  }

  if (signal.aborted) throw abortError();
  request.onFinishing?.();
  job = await api.finish(job.id);
  onJob(job);
  return job;
}
