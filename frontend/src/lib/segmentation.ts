import type { InferenceJob, InferenceJobStatus, InferenceModel, InferenceStage, Role, SegmentationResult, SeriesSummary, ValidationStatus } from '../api/types';
import type { Tone } from './format';

/** Roles that hold `inference.run`: run models, cancel jobs, delete results (the server checks again). */
export const inferenceRoles: Role[] = ['admin', 'researcher'];

/** Roles that hold `segmentation.validate`: approve or reject results. */
export const validationRoles: Role[] = ['admin', 'radiologist'];

export function mayRunInference(role: Role): boolean {
  return inferenceRoles.includes(role);
}

export function mayValidate(role: Role): boolean {
  return validationRoles.includes(role);
}

export function resultPath(id: string): string {
  return `/segmentations/${encodeURIComponent(id)}`;
}

export function reportPath(id: string): string {
  return `${resultPath(id)}/report`;
}

// Choosing the input.

/** One job takes at most this many series (channels of one study). */
export const MAX_JOB_SERIES = 8;

/** Series without an image volume to segment: segmentations, reports, presentation states, RT objects, documents. */
const nonImageModalities = new Set(['SEG', 'SR', 'PR', 'KO', 'RTSTRUCT', 'RTPLAN', 'RTDOSE', 'RTRECORD', 'DOC']);

/** Why a series cannot be model input, or null when it can. */
export function unselectableReason(series: Pick<SeriesSummary, 'modality' | 'instanceCount'>): string | null {
  const modality = series.modality.trim().toUpperCase();
  if (modality === 'SEG') return 'A segmentation, not images';
  if (modality === 'SR') return 'A report, not images';
  if (nonImageModalities.has(modality)) return 'No images to segment';
  if (series.instanceCount === 0) return 'No instances';
  return null;
}

export function isSelectableSeries(series: Pick<SeriesSummary, 'modality' | 'instanceCount'>): boolean {
  return unselectableReason(series) === null;
}

/** Ticks or unticks one series; the order of choice is kept, since it is the order of the model's channels. */
export function toggleSeries(selected: string[], uid: string, checked: boolean): string[] {
  if (!checked) return selected.filter((candidate) => candidate !== uid);
  return selected.includes(uid) ? selected : [...selected, uid];
}

/** The chosen series that still exist and may be chosen (a reload may have removed some). */
export function validSelection(selected: string[], series: SeriesSummary[]): string[] {
  const selectable = new Set(series.filter(isSelectableSeries).map((s) => s.seriesInstanceUid));
  return selected.filter((uid) => selectable.has(uid));
}

/** The model offered first: the first made for the modality of the chosen (else any image) series, else the first one. */
export function defaultModelName(models: InferenceModel[], modalities: string[]): string {
  const wanted = new Set(modalities.map((m) => m.trim().toUpperCase()));
  const matching = models.find((model) => model.modality && wanted.has(model.modality.toUpperCase()));
  return (matching ?? models[0])?.name ?? '';
}

/** A hint when the model was made for another modality than the chosen series; null when they agree or nothing says. */
export function modalityHint(model: Pick<InferenceModel, 'name' | 'modality'> | undefined, series: Pick<SeriesSummary, 'modality'>[]): string | null {
  if (!model?.modality || series.length === 0) return null;
  const expected = model.modality.toUpperCase();
  const others = [...new Set(series.map((s) => s.modality.trim().toUpperCase() || 'unknown'))].filter((m) => m !== expected);
  if (others.length === 0) return null;
  const chosen = series.length === 1 ? 'the chosen series is' : 'the chosen series are';
  return `${model.name} is made for ${expected} images, but ${chosen} ${others.join(', ')}. It may give a poor result.`;
}

/** The labels of a model by value, as "body (1), lungs (2), bone (3)". */
export function labelList(labels: Record<string, number>): string {
  const entries = Object.entries(labels).sort(([, a], [, b]) => a - b);
  return entries.length ? entries.map(([name, value]) => `${name} (${value})`).join(', ') : 'none listed';
}

/** What stops a Run before the server is asked; null when the request may be sent. */
export function runProblem(selected: string[], model: string): string | null {
  if (selected.length === 0) return 'Choose at least one image series to segment.';
  if (selected.length > MAX_JOB_SERIES) return `Choose at most ${MAX_JOB_SERIES} series for one job.`;
  if (!model) return 'Choose a model.';
  return null;
}

/** The notice after Run: 202 made a new job, 200 found the same request already there. */
export function submitNotice(status: number, model: string): string {
  return status === 200 ? `This job already exists: ${model} on the same series is shown below.` : `Job queued: follow ${model} stage by stage under Jobs.`;
}

// Jobs and their stages.

export function isActiveJob(job: Pick<InferenceJob, 'status'>): boolean {
  return job.status === 'queued' || job.status === 'running';
}

export const stageOrder: Exclude<InferenceStage, 'queued'>[] = ['fetching', 'building-volume', 'inferring', 'encoding-seg', 'storing', 'done'];

export const stageLabels: Record<InferenceStage, string> = {
  queued: 'Queued',
  fetching: 'Fetching',
  'building-volume': 'Building volume',
  inferring: 'Inferring',
  'encoding-seg': 'Encoding SEG',
  storing: 'Storing',
  done: 'Done',
};

export type StepState = 'complete' | 'active' | 'pending' | 'failed' | 'cancelled';

export type StageStep = { stage: InferenceStage; label: string; state: StepState; current: boolean };

/**
 * The six steps of a job, each complete, active, pending, or where it failed or was cancelled.
 * A queued job has no current step yet; a completed one has reached "done".
 */
export function stageSteps(job: Pick<InferenceJob, 'status' | 'stage'>): StageStep[] {
  const reached = job.status === 'completed' ? stageOrder.length - 1 : stageOrder.indexOf(job.stage as (typeof stageOrder)[number]);
  return stageOrder.map((stage, index) => {
    let state: StepState = 'pending';
    if (reached >= 0 && index < reached) state = 'complete';
    else if (index === reached) {
      if (job.status === 'completed') state = 'complete';
      else if (job.status === 'failed') state = 'failed';
      else if (job.status === 'cancelled') state = 'cancelled';
      else state = 'active';
    }
    return { stage, label: stageLabels[stage], state, current: index === reached };
  });
}

/** One line on where a job stands, for the indicator's caption and screen readers. */
export function jobSummary(job: Pick<InferenceJob, 'status' | 'stage' | 'attempts'>): string {
  const stage = stageLabels[job.stage] ?? job.stage;
  switch (job.status) {
    case 'queued':
      return job.attempts > 0 ? `Waiting in the queue to try again (attempt ${job.attempts + 1})` : 'Waiting in the queue';
    case 'running':
      return job.stage === 'queued' ? 'Starting' : `Running: ${stage.toLowerCase()}`;
    case 'completed':
      return 'Done: the segmentation is stored';
    case 'failed':
      return job.stage === 'queued' || job.stage === 'done' ? 'Failed' : `Failed while ${stage.toLowerCase()}`;
    case 'cancelled':
      return 'Cancelled';
    default:
      return job.status;
  }
}

const jobBadges: Record<InferenceJobStatus, { label: string; tone: Tone }> = {
  queued: { label: 'Queued', tone: 'muted' },
  running: { label: 'Running', tone: 'warn' },
  completed: { label: 'Completed', tone: 'ok' },
  failed: { label: 'Failed', tone: 'bad' },
  cancelled: { label: 'Cancelled', tone: 'muted' },
};

export function jobStatusBadge(status: InferenceJobStatus): { label: string; tone: Tone } {
  return jobBadges[status] ?? { label: status, tone: 'muted' };
}

const time = (iso: string) => {
  const value = Date.parse(iso);
  return Number.isNaN(value) ? -Infinity : value;
};

/** Puts a fresh report of a job into the list: replaces it unless the list holds a later one, or adds it first (newest first). */
export function mergeJob(jobs: InferenceJob[] | null, incoming: InferenceJob): InferenceJob[] {
  const list = jobs ?? [];
  const index = list.findIndex((job) => job.id === incoming.id);
  if (index < 0) return [incoming, ...list];
  if (time(incoming.updatedAt) < time(list[index]!.updatedAt)) return list;
  return list.map((job, i) => (i === index ? incoming : job));
}

// Results.

const validationBadges: Record<ValidationStatus, { label: string; tone: Tone }> = {
  pending: { label: 'Pending review', tone: 'warn' },
  approved: { label: 'Approved', tone: 'ok' },
  rejected: { label: 'Rejected', tone: 'bad' },
};

export function validationBadge(status: string): { label: string; tone: Tone } {
  return validationBadges[status as ValidationStatus] ?? { label: status || 'Unknown', tone: 'muted' };
}

/** "3 segments" */
export function segmentCount(result: Pick<SegmentationResult, 'segments'>): string {
  const count = result.segments.length;
  return `${count} segment${count === 1 ? '' : 's'}`;
}

/** A volume in cm³ with two decimals, grouped the reader's way ("1,234.50 cm³"); '—' when it is not a number. */
export function formatVolume(cm3: number | null | undefined, locale?: string): string {
  if (typeof cm3 !== 'number' || !Number.isFinite(cm3)) return '—';
  return `${cm3.toLocaleString(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 })} cm³`;
}

export function formatVoxels(count: number, locale?: string): string {
  return Number.isFinite(count) ? count.toLocaleString(locale, { maximumFractionDigits: 0 }) : '—';
}

/** A segment colour (0–255 per channel, clamped) as CSS. */
export function rgbCss(color: readonly number[]): string {
  const channel = (value: number | undefined) => Math.min(255, Math.max(0, Math.round(Number.isFinite(value) ? value! : 0)));
  return `rgb(${channel(color[0])}, ${channel(color[1])}, ${channel(color[2])})`;
}

/** The caption of a key slice; slices are counted from 1 for people, from 0 by the server. */
export function sliceCaption(label: string, sliceIndex: number): string {
  return `${label} · slice ${sliceIndex + 1}`;
}

// Validation.

export type ValidationDecision = 'approved' | 'rejected';

/** The check made before asking the server: a rejection says why. */
export function validationProblem(decision: ValidationDecision, comment: string): string | null {
  if (decision === 'rejected' && !comment.trim()) return 'Say why you reject it: a comment is required to reject a segmentation.';
  if (comment.trim().length > 2000) return 'Keep the comment under 2000 characters.';
  return null;
}

/** The request body: the comment trimmed, left out when empty. */
export function validationBody(decision: ValidationDecision, comment: string): { decision: ValidationDecision; comment?: string } {
  const text = comment.trim();
  return text ? { decision, comment: text } : { decision };
}

export function validationNotice(decision: ValidationDecision): string {
  return decision === 'approved' ? 'The segmentation is approved.' : 'The segmentation is rejected.';
}
