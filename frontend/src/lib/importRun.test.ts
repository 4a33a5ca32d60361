import { describe, expect, it } from 'vitest';
import type { ImportJob } from '../api/types';
import { isAbort, runImport, type ImportApi, type UploadProgress } from './importRun';
import { emptyNiftiFields } from './imports';

const job = (change: Partial<ImportJob> = {}): ImportJob => ({
  id: 'job-1',
  ownerGroup: { id: 'g1', name: 'Radiology' },
  createdBy: { id: 'u1', email: 'a@b.c' },
  status: 'open',
  createdAt: '2025-01-01T10:00:00.000Z',
  updatedAt: '2025-01-01T10:00:00.000Z',
  finishedAt: null,
  error: null,
  counters: { filesReceived: 0, bytesReceived: 0, instancesStored: 0, duplicates: 0, rejected: 0, skipped: 0 },
  warnings: [],
  studies: [],
  ...change,
});

const file = (path: string, size: number) => ({ path, file: new Blob([new Uint8Array(size)]) });

/** A server stand-in that records every call and the names of the parts it was sent. */
function fakeApi(options: { failOnBatch?: number; onUpload?: (batch: number) => void } = {}) {
  const calls: string[] = [];
  const sent: string[][] = [];
  let received = 0;
  const api: ImportApi = {
    create: async (request) => {
      calls.push(`create ${request.groupId} ${request.label ?? ''}`.trim());
      return job();
    },
    upload: async (jobId, form, onProgress) => {
      const batch = sent.length + 1;
      calls.push(`upload ${jobId} #${batch}`);
      options.onUpload?.(batch);
      if (options.failOnBatch === batch) throw new Error('Orthanc is not answering.');
      const parts = [...form.entries()].map(([name, value]) => (typeof value === 'string' ? `${name}=${value}` : (value as File).name));
      sent.push(parts);
      onProgress(50, 100);
      onProgress(100, 100);
      received += parts.filter((p) => !p.includes('=')).length;
      return job({ updatedAt: `2025-01-01T10:00:0${batch}.000Z`, counters: { ...job().counters, filesReceived: received } });
    },
    finish: async (jobId) => {
      calls.push(`finish ${jobId}`);
      return job({ status: 'completed', updatedAt: '2025-01-01T10:01:00.000Z' });
    },
  };
  return { api, calls, sent };
}

describe('runImport', () => {
  it('creates the job, uploads the batches one after another, then finishes it', async () => {
    const { api, calls, sent } = fakeApi();
    const jobs: ImportJob[] = [];
    const progress: UploadProgress[] = [];
    const items = [file('ct/a.dcm', 10), file('ct/b.dcm', 10), file('ct/c.dcm', 20)];
    const final = await runImport(api, {
      items,
      groupId: 'g1',
      label: 'ct/',
      nifti: null,
      signal: new AbortController().signal,
      onJob: (j) => jobs.push(j),
      onProgress: (p) => progress.push(p),
      limits: { maxFiles: 2, maxBytes: 1000 },
    });
    expect(calls).toEqual(['create g1 ct/', 'upload job-1 #1', 'upload job-1 #2', 'finish job-1']);
    expect(sent).toEqual([['ct/a.dcm', 'ct/b.dcm'], ['ct/c.dcm']]);
    expect(final.status).toBe('completed');
    expect(jobs.map((j) => j.status)).toEqual(['open', 'open', 'open', 'completed']);
    expect(jobs[2]!.counters.filesReceived).toBe(3);
    // Half of the first batch's 20 bytes, all of it, then half and all of the second batch's 20.
    expect(progress.map((p) => `${p.sentBytes}/${p.totalBytes} ${p.batch}/${p.batches}`)).toEqual([
      '0/40 0/2',
      '10/40 1/2',
      '20/40 1/2',
      '20/40 1/2',
      '30/40 2/2',
      '40/40 2/2',
      '40/40 2/2',
    ]);
  });

  it('sends the NIfTI fields with the NIfTI files', async () => {
    const { api, sent } = fakeApi();
    await runImport(api, {
      items: [file('a.dcm', 1), file('brain.nii.gz', 1)],
      groupId: 'g1',
      nifti: { ...emptyNiftiFields, patientName: 'DOE^JANE', patientId: 'P2', studyDescription: 'Head', modality: 'CT' },
      signal: new AbortController().signal,
      onJob: () => {},
      onProgress: () => {},
    });
    expect(sent).toEqual([['a.dcm', 'patientName=DOE^JANE', 'patientId=P2', 'studyDescription=Head', 'modality=CT', 'brain.nii.gz']]);
  });

  it('stops at the failed batch with its error and leaves the job unfinished', async () => {
    const { api, calls } = fakeApi({ failOnBatch: 2 });
    const run = runImport(api, {
      items: [file('a', 1), file('b', 1), file('c', 1)],
      groupId: 'g1',
      nifti: null,
      signal: new AbortController().signal,
      onJob: () => {},
      onProgress: () => {},
      limits: { maxFiles: 1, maxBytes: 1000 },
    });
    await expect(run).rejects.toThrow('Orthanc is not answering.');
    expect(calls).toEqual(['create g1', 'upload job-1 #1', 'upload job-1 #2']);
  });

  it('sends no further batch once cancelled, and never finishes', async () => {
    const controller = new AbortController();
    const { api, calls } = fakeApi({ onUpload: (batch) => batch === 1 && controller.abort() });
    const error = await runImport(api, {
      items: [file('a', 1), file('b', 1)],
      groupId: 'g1',
      nifti: null,
      signal: controller.signal,
      onJob: () => {},
      onProgress: () => {},
      limits: { maxFiles: 1, maxBytes: 1000 },
    }).catch((caught: unknown) => caught);
    expect(isAbort(error)).toBe(true);
    expect(calls).toEqual(['create g1', 'upload job-1 #1']);
  });

  it('creates nothing when cancelled before it starts', async () => {
    const controller = new AbortController();
    controller.abort();
    const { api, calls } = fakeApi();
    const error = await runImport(api, { items: [file('a', 1)], groupId: 'g1', nifti: null, signal: controller.signal, onJob: () => {}, onProgress: () => {} }).catch((e: unknown) => e);
    expect(isAbort(error)).toBe(true);
    expect(calls).toEqual([]);
  });

  it('finishes a job with no files at all', async () => {
    const { api, calls } = fakeApi();
    await runImport(api, { items: [], groupId: 'g1', nifti: null, signal: new AbortController().signal, onJob: () => {}, onProgress: () => {} });
    expect(calls).toEqual(['create g1', 'finish job-1']);
  });
});
