import { describe, expect, it } from 'vitest';
import type { InferenceJob, InferenceModel, SeriesSummary } from '../api/types';
import {
  defaultModelName,
  formatVolume,
  formatVoxels,
  isActiveJob,
  isSelectableSeries,
  jobStatusBadge,
  jobSummary,
  labelList,
  mayRunInference,
  mayValidate,
  mergeJob,
  modalityHint,
  reportPath,
  resultPath,
  rgbCss,
  runProblem,
  segmentCount,
  sliceCaption,
  stageSteps,
  submitNotice,
  toggleSeries,
  unselectableReason,
  validationBadge,
  validationBody,
  validationProblem,
  validSelection,
} from './segmentation';

const series = (uid: string, modality: string, instanceCount = 10): SeriesSummary => ({
  seriesInstanceUid: uid,
  modality,
  seriesNumber: 1,
  seriesDescription: '',
  instanceCount,
  thumbnailUrl: '',
});

const model = (name: string, modality: string | null): InferenceModel => ({ name, modality, labels: { a: 1 }, description: '', version: '1.0.0', dimension: 3 });

const job = (over: Partial<InferenceJob> = {}): InferenceJob => ({
  id: 'j1',
  studyInstanceUid: '1.2',
  seriesInstanceUids: ['1.2.3'],
  model: 'm',
  params: {},
  status: 'queued',
  stage: 'queued',
  attempts: 0,
  error: null,
  createdBy: 'u1',
  createdAt: '2026-01-01T10:00:00.000Z',
  updatedAt: '2026-01-01T10:00:00.000Z',
  finishedAt: null,
  resultId: null,
  ...over,
});

describe('roles', () => {
  it('lets admins and researchers run models, admins and radiologists validate', () => {
    expect(['admin', 'researcher', 'radiologist'].map((r) => mayRunInference(r as never))).toEqual([true, true, false]);
    expect(['admin', 'researcher', 'radiologist'].map((r) => mayValidate(r as never))).toEqual([true, false, true]);
  });

  it('builds result and report paths', () => {
    expect(resultPath('a b')).toBe('/segmentations/a%20b');
    expect(reportPath('abc')).toBe('/segmentations/abc/report');
  });
});

describe('choosing series', () => {
  it('refuses segmentations, reports and other objects without images', () => {
    expect(isSelectableSeries(series('1', 'CT'))).toBe(true);
    expect(isSelectableSeries(series('1', 'mr'))).toBe(true);
    expect(unselectableReason(series('1', 'SEG'))).toBe('A segmentation, not images');
    expect(unselectableReason(series('1', 'SR'))).toBe('A report, not images');
    expect(unselectableReason(series('1', 'RTSTRUCT'))).toBe('No images to segment');
    expect(unselectableReason(series('1', 'CT', 0))).toBe('No instances');
  });

  it('keeps the order of choice and drops what is gone or no longer selectable', () => {
    expect(toggleSeries(['a'], 'b', true)).toEqual(['a', 'b']);
    expect(toggleSeries(['a', 'b'], 'b', true)).toEqual(['a', 'b']);
    expect(toggleSeries(['a', 'b'], 'a', false)).toEqual(['b']);
    expect(validSelection(['x', 'a', 's'], [series('a', 'CT'), series('s', 'SEG')])).toEqual(['a']);
  });

  it('offers the model made for the chosen modality first', () => {
    const models = [model('mr_foreground', 'MR'), model('ct_body', 'CT'), model('any', null)];
    expect(defaultModelName(models, ['CT'])).toBe('ct_body');
    expect(defaultModelName(models, ['PT'])).toBe('mr_foreground');
    expect(defaultModelName([], ['CT'])).toBe('');
  });

  it('warns when the model was made for another modality', () => {
    expect(modalityHint(model('ct_body', 'CT'), [series('1', 'CT')])).toBeNull();
    expect(modalityHint(model('any', null), [series('1', 'MR')])).toBeNull();
    expect(modalityHint(model('ct_body', 'CT'), [])).toBeNull();
    expect(modalityHint(model('ct_body', 'CT'), [series('1', 'MR')])).toBe('ct_body is made for CT images, but the chosen series is MR. It may give a poor result.');
    expect(modalityHint(model('ct_body', 'CT'), [series('1', 'CT'), series('2', 'PT')])).toContain('the chosen series are PT');
  });

  it('lists labels by value', () => {
    expect(labelList({ bone: 3, body: 1, lungs: 2 })).toBe('body (1), lungs (2), bone (3)');
    expect(labelList({})).toBe('none listed');
  });

  it('checks the request before Run', () => {
    expect(runProblem([], 'm')).toMatch(/at least one/);
    expect(runProblem(['1', '2', '3', '4', '5', '6', '7', '8', '9'], 'm')).toMatch(/at most 8/);
    expect(runProblem(['1'], '')).toBe('Choose a model.');
    expect(runProblem(['1'], 'm')).toBeNull();
  });

  it('says when the same job already existed', () => {
    expect(submitNotice(200, 'm')).toMatch(/already exists/);
    expect(submitNotice(202, 'm')).toMatch(/^Job queued/);
  });
});

describe('stage steps', () => {
  const states = (j: InferenceJob) => stageSteps(j).map((s) => s.state);
  const current = (j: InferenceJob) => stageSteps(j).find((s) => s.current)?.stage ?? null;

  it('lists the six stages in order with their labels', () => {
    expect(stageSteps(job()).map((s) => s.label)).toEqual(['Fetching', 'Building volume', 'Inferring', 'Encoding SEG', 'Storing', 'Done']);
  });

  it('has no current step while queued', () => {
    expect(states(job())).toEqual(Array(6).fill('pending'));
    expect(current(job())).toBeNull();
  });

  it('marks earlier stages complete and the running one active', () => {
    const running = job({ status: 'running', stage: 'inferring' });
    expect(states(running)).toEqual(['complete', 'complete', 'active', 'pending', 'pending', 'pending']);
    expect(current(running)).toBe('inferring');
  });

  it('reaches done when completed', () => {
    const done = job({ status: 'completed', stage: 'done' });
    expect(states(done)).toEqual(Array(6).fill('complete'));
    expect(current(done)).toBe('done');
  });

  it('shows where a job failed or was cancelled', () => {
    expect(states(job({ status: 'failed', stage: 'encoding-seg' }))).toEqual(['complete', 'complete', 'complete', 'failed', 'pending', 'pending']);
    expect(states(job({ status: 'cancelled', stage: 'fetching' }))).toEqual(['cancelled', 'pending', 'pending', 'pending', 'pending', 'pending']);
    expect(current(job({ status: 'failed', stage: 'queued' }))).toBeNull();
  });

  it('sums the job up in words', () => {
    expect(jobSummary(job())).toBe('Waiting in the queue');
    expect(jobSummary(job({ attempts: 1 }))).toBe('Waiting in the queue to try again (attempt 2)');
    expect(jobSummary(job({ status: 'running', stage: 'building-volume' }))).toBe('Running: building volume');
    expect(jobSummary(job({ status: 'running' }))).toBe('Starting');
    expect(jobSummary(job({ status: 'failed', stage: 'inferring' }))).toBe('Failed while inferring');
    expect(jobSummary(job({ status: 'completed', stage: 'done' }))).toMatch(/^Done/);
  });

  it('knows which jobs are still active', () => {
    expect(['queued', 'running', 'completed', 'failed', 'cancelled'].map((status) => isActiveJob({ status: status as never }))).toEqual([true, true, false, false, false]);
    expect(jobStatusBadge('failed')).toEqual({ label: 'Failed', tone: 'bad' });
  });
});

describe('mergeJob', () => {
  it('replaces a job with a later report, keeps a later one, adds new ones first', () => {
    const old = job({ id: 'a' });
    const newer = job({ id: 'a', status: 'running', updatedAt: '2026-01-01T10:00:05.000Z' });
    expect(mergeJob([old], newer)).toEqual([newer]);
    expect(mergeJob([newer], old)).toEqual([newer]);
    const other = job({ id: 'b' });
    expect(mergeJob([old], other).map((j) => j.id)).toEqual(['b', 'a']);
    expect(mergeJob(null, other)).toEqual([other]);
  });
});

describe('results', () => {
  it('badges the validation status', () => {
    expect(validationBadge('pending')).toEqual({ label: 'Pending review', tone: 'warn' });
    expect(validationBadge('approved')).toEqual({ label: 'Approved', tone: 'ok' });
    expect(validationBadge('rejected')).toEqual({ label: 'Rejected', tone: 'bad' });
    expect(validationBadge('odd').tone).toBe('muted');
  });

  it('formats volumes with two decimals and voxel counts whole', () => {
    expect(formatVolume(1234.5, 'en-US')).toBe('1,234.50 cm³');
    expect(formatVolume(0.004, 'en-US')).toBe('0.00 cm³');
    expect(formatVolume(12.345678, 'de-DE')).toBe('12,35 cm³');
    expect(formatVolume(Number.NaN)).toBe('—');
    expect(formatVolume(null)).toBe('—');
    expect(formatVoxels(1234567, 'en-US')).toBe('1,234,567');
  });

  it('counts segments and writes colours and captions', () => {
    expect(segmentCount({ segments: [] })).toBe('0 segments');
    expect(segmentCount({ segments: [{}] as never })).toBe('1 segment');
    expect(rgbCss([255, 128, 0])).toBe('rgb(255, 128, 0)');
    expect(rgbCss([300, -5])).toBe('rgb(255, 0, 0)');
    expect(sliceCaption('bone', 41)).toBe('bone · slice 42');
  });
});

describe('validation form', () => {
  it('requires a comment to reject, not to approve', () => {
    expect(validationProblem('rejected', '  ')).toMatch(/comment is required/);
    expect(validationProblem('rejected', 'misses the left lung')).toBeNull();
    expect(validationProblem('approved', '')).toBeNull();
    expect(validationProblem('approved', 'x'.repeat(2001))).toMatch(/2000/);
  });

  it('sends the comment trimmed, or none', () => {
    expect(validationBody('approved', '  ')).toEqual({ decision: 'approved' });
    expect(validationBody('rejected', ' too small ')).toEqual({ decision: 'rejected', comment: 'too small' });
  });
});
