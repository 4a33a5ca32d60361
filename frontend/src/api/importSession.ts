import { useSyncExternalStore } from 'react';
import { isAbort, runImport, type ImportApi, type UploadProgress } from '../lib/importRun';
import type { ImportItem } from '../lib/imports';
import { apiFetch, messageOf } from './client';
import type { ImportJob, NiftiFields } from './types';
import { postForm } from './upload';

/**
 * The upload this tab is running. It lives outside any page, so it carries on while the user
 * looks at other pages, and the job page finds it again by id. One at a time.
 */
export type UploadRun = {
  jobId: string | null;
  phase: 'starting' | 'uploading' | 'finishing' | 'done' | 'cancelling' | 'cancelled' | 'failed';
  progress: UploadProgress;
  /** The latest report the uploads themselves returned. */
  job: ImportJob | null;
  error: string | null;
};

const importPath = (id: string) => `/api/imports/${encodeURIComponent(id)}`;

export const importApi: ImportApi = {
  create: (request) => apiFetch<{ import: ImportJob }>('/api/imports', { method: 'POST', body: request }).then((body) => body.import),
  upload: (jobId, form, onProgress, signal) => postForm<{ import: ImportJob }>(`${importPath(jobId)}/files`, form, { onProgress, signal }).then((body) => body.import),
  finish: (jobId) => apiFetch<{ import: ImportJob }>(`${importPath(jobId)}/finish`, { method: 'POST' }).then((body) => body.import),
};

export function cancelImportJob(jobId: string): Promise<ImportJob> {
  return apiFetch<{ import: ImportJob }>(`${importPath(jobId)}/cancel`, { method: 'POST' }).then((body) => body.import);
}

export function finishImportJob(jobId: string): Promise<ImportJob> {
  return importApi.finish(jobId);
}

let current: UploadRun | null = null;
let controller: AbortController | null = null;
const listeners = new Set<() => void>();

function update(change: Partial<UploadRun>): void {
  if (!current) return;
  current = { ...current, ...change };
  for (const listener of listeners) listener();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function isUploading(run: UploadRun | null): boolean {
  return Boolean(run && ['starting', 'uploading', 'finishing', 'cancelling'].includes(run.phase));
}

/** The current upload, re-rendering on every change. */
export function useUploadRun(): UploadRun | null {
  return useSyncExternalStore(
    subscribe,
    () => current,
    () => current,
  );
}

export type StartRequest = { items: ImportItem[]; groupId: string; label?: string; nifti: NiftiFields | null; onCreated: (job: ImportJob) => void };

/**
 * Starts an import; resolves when it has ended one way or the other (the run's phase and error
 * say how). `onCreated` gets the job as soon as the server has made it.
 */
export async function startUpload(request: StartRequest): Promise<void> {
  if (isUploading(current)) throw new Error('An upload is already running in this tab.');
  controller = new AbortController();
  const mine = controller;
  current = { jobId: null, phase: 'starting', progress: { sentBytes: 0, totalBytes: 0, batch: 0, batches: 0 }, job: null, error: null };
  update({});
  let announced = false;
  try {
    await runImport(importApi, {
      items: request.items,
      groupId: request.groupId,
      label: request.label,
      nifti: request.nifti,
      signal: mine.signal,
      onProgress: (progress) => {
        if (controller === mine) update({ progress });
      },
      onFinishing: () => {
        if (controller === mine) update({ phase: 'finishing' });
      },
      onJob: (job) => {
        if (controller !== mine) return;
        update({ jobId: job.id, job, ...(current?.phase === 'starting' ? { phase: 'uploading' as const } : {}) });
        if (!announced) {
          announced = true;
          request.onCreated(job);
        }
      },
    });
    if (controller === mine) update({ phase: 'done' });
  } catch (error) {
    if (controller !== mine) return;
    if (isAbort(error)) update({ phase: 'cancelled' });
    else update({ phase: 'failed', error: messageOf(error, 'The upload failed.') });
  }
}

/**
 * Cancels the job: stops the upload in flight and asks the server to stop (what was stored
 * stays). Resolves to the cancelled job.
 */
export async function cancelUpload(jobId: string): Promise<ImportJob> {
  const running = current?.jobId === jobId && isUploading(current);
  if (running) {
    update({ phase: 'cancelling' });
    controller?.abort();
  }
  try {
    const job = await cancelImportJob(jobId);
    if (current?.jobId === jobId) update({ phase: 'cancelled', job });
    return job;
  } catch (error) {
    if (running && current?.jobId === jobId) update({ phase: 'failed', error: messageOf(error, 'The import could not be cancelled.') });
    throw error;
  }
}
