import { apiFetch, apiFetchWithStatus } from './client';
import { queryString } from './query';
import type { InferenceJob, InferenceModels, KeySlice, SegmentationDetail, SegmentationResult } from './types';

// The inference and segmentation endpoints, one function each.

const jobPath = (id: string) => `/api/inference/jobs/${encodeURIComponent(id)}`;
const resultApiPath = (id: string) => `/api/segmentations/${encodeURIComponent(id)}`;

export function fetchModels(signal?: AbortSignal): Promise<InferenceModels> {
  return apiFetch<InferenceModels>('/api/inference/models', { signal });
}

/** Asks for a job; `created` is false when the same request was already there (200 instead of 202). */
export async function submitJob(request: { seriesInstanceUids: string[]; model: string; params?: Record<string, unknown> }): Promise<{ job: InferenceJob; status: number }> {
  const answer = await apiFetchWithStatus<{ job: InferenceJob }>('/api/inference/jobs', { method: 'POST', body: { params: {}, ...request } });
  return { job: answer.body.job, status: answer.status };
}

export function listJobs(studyInstanceUid: string, signal?: AbortSignal): Promise<InferenceJob[]> {
  return apiFetch<{ jobs: InferenceJob[] }>(`/api/inference/jobs${queryString({ studyInstanceUid })}`, { signal }).then((body) => body.jobs);
}

export function getJob(id: string, signal?: AbortSignal): Promise<InferenceJob> {
  return apiFetch<{ job: InferenceJob }>(jobPath(id), { signal }).then((body) => body.job);
}

export function cancelJob(id: string): Promise<InferenceJob> {
  return apiFetch<{ job: InferenceJob }>(`${jobPath(id)}/cancel`, { method: 'POST' }).then((body) => body.job);
}

export function listResults(filter: { studyInstanceUid?: string; patientKey?: string }, signal?: AbortSignal): Promise<SegmentationResult[]> {
  return apiFetch<{ results: SegmentationResult[] }>(`/api/segmentations${queryString(filter)}`, { signal }).then((body) => body.results);
}

export function getResult(id: string, signal?: AbortSignal): Promise<SegmentationDetail> {
  return apiFetch<SegmentationDetail>(resultApiPath(id), { signal });
}

export function getKeySlices(id: string, signal?: AbortSignal): Promise<KeySlice[]> {
  return apiFetch<{ slices: KeySlice[] }>(`${resultApiPath(id)}/key-slices`, { signal }).then((body) => body.slices);
}

export function validateResult(id: string, body: { decision: 'approved' | 'rejected'; comment?: string }): Promise<SegmentationDetail> {
  return apiFetch<SegmentationDetail>(`${resultApiPath(id)}/validation`, { method: 'POST', body });
}

export function deleteResult(id: string): Promise<void> {
  return apiFetch<void>(resultApiPath(id), { method: 'DELETE' });
}
