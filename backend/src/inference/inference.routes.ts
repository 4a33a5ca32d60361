import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../lib/context.js';
import { authedErrors, errorResponses, json, jsonBody, noContent } from '../lib/openapi.js';
import {
  cancelJob,
  deleteResult,
  getJob,
  getResult,
  jobListQuerySchema,
  keySliceImage,
  listKeySlices,
  listJobs,
  listModels,
  listResults,
  resultListQuerySchema,
  submitJob,
  submitJobInputSchema,
  validateResult,
  validationInputSchema,
} from './inference.service.js';

const modelSchema = z
  .object({ name: z.string(), labels: z.record(z.string(), z.number()), modality: z.string().nullable(), description: z.string(), version: z.string(), dimension: z.number().nullable() })
  .openapi('InferenceModel');
const jobSchema = z
  .object({
    id: z.string(),
    studyInstanceUid: z.string(),
    seriesInstanceUids: z.array(z.string()),
    model: z.string(),
    params: z.record(z.string(), z.unknown()),
    status: z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']),
    stage: z.enum(['queued', 'fetching', 'building-volume', 'inferring', 'encoding-seg', 'storing', 'done']),
    attempts: z.number(),
    error: z.string().nullable(),
    createdBy: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    finishedAt: z.string().nullable(),
    resultId: z.string().nullable(),
  })
  .openapi('InferenceJob');
const segmentSchema = z.object({ number: z.number(), labelValue: z.number(), label: z.string(), color: z.array(z.number()), voxelCount: z.number(), volumeCm3: z.number() });
const resultSchema = z
  .object({
    id: z.string(),
    jobId: z.string(),
    studyInstanceUid: z.string(),
    studyDate: z.string(),
    studyDescription: z.string(),
    patient: z.object({ key: z.string().nullable(), patientId: z.string(), patientName: z.string() }),
    sourceSeriesUid: z.string(),
    segSeriesUid: z.string(),
    segSopInstanceUid: z.string(),
    model: z.string(),
    modelVersion: z.string(),
    createdAt: z.string(),
    validation: z.object({ status: z.enum(['pending', 'approved', 'rejected']), comment: z.string().nullable(), by: z.string().nullable(), at: z.string().nullable() }),
    segments: z.array(segmentSchema),
  })
  .openapi('SegmentationResult');
const historySchema = z.array(
  z.object({ label: z.string(), points: z.array(z.object({ resultId: z.string(), studyInstanceUid: z.string(), studyDate: z.string(), volumeCm3: z.number(), validationStatus: z.string() })) }),
);
const idParam = z.object({ id: z.uuid() });
const tags = ['segmentation'];
const notFound = { 404: errorResponses[404] };
const jobAnswer = json(z.object({ job: jobSchema }), 'The job');
const resultAnswer = json(z.object({ result: resultSchema, history: historySchema }), 'The result with its segments and their volumes over the patient\'s studies');

const routes = {
  models: createRoute({
    method: 'get',
    path: '/inference/models',
    tags,
    summary: "Models the inference service offers (its /info), with their labels",
    responses: { 200: json(z.object({ service: z.string(), version: z.string(), models: z.array(modelSchema) }), 'Models'), ...authedErrors },
  }),
  submit: createRoute({
    method: 'post',
    path: '/inference/jobs',
    tags,
    summary: 'Run a model on one series (or several, same study and grid, for multi-channel models). The same request again returns the existing job.',
    request: jsonBody(submitJobInputSchema),
    responses: { 202: jobAnswer, 200: jobAnswer, ...authedErrors, ...notFound },
  }),
  list: createRoute({ method: 'get', path: '/inference/jobs', tags, summary: 'Jobs on studies I may see, newest first', request: { query: jobListQuerySchema }, responses: { 200: json(z.object({ jobs: z.array(jobSchema) }), 'Jobs'), ...authedErrors } }),
  get: createRoute({ method: 'get', path: '/inference/jobs/{id}', tags, summary: 'One job with its stage', request: { params: idParam }, responses: { 200: jobAnswer, ...authedErrors, ...notFound } }),
  cancel: createRoute({ method: 'post', path: '/inference/jobs/{id}/cancel', tags, summary: 'Cancel a queued or running job', request: { params: idParam }, responses: { 200: jobAnswer, ...authedErrors, ...notFound, 409: errorResponses[409] } }),
  results: createRoute({
    method: 'get',
    path: '/segmentations',
    tags,
    summary: 'Segmentation results on studies I may see (filter by study or patient)',
    request: { query: resultListQuerySchema },
    responses: { 200: json(z.object({ results: z.array(resultSchema) }), 'Results'), ...authedErrors },
  }),
  result: createRoute({ method: 'get', path: '/segmentations/{id}', tags, summary: 'One result: segments, colours, volumes (cm³), validation, volume over time', request: { params: idParam }, responses: { 200: resultAnswer, ...authedErrors, ...notFound } }),
  validate: createRoute({
    method: 'post',
    path: '/segmentations/{id}/validation',
    tags,
    summary: 'Approve or reject (comment required) a segmentation (radiologists, admins)',
    request: { params: idParam, ...jsonBody(validationInputSchema) },
    responses: { 200: resultAnswer, ...authedErrors, ...notFound },
  }),
  keySlices: createRoute({
    method: 'get',
    path: '/segmentations/{id}/key-slices',
    tags,
    summary: 'Per segment, the slice where it is largest: source image and mask URLs (for reports)',
    request: { params: idParam },
    responses: {
      200: json(z.object({ slices: z.array(z.object({ segmentNumber: z.number(), label: z.string(), sliceIndex: z.number(), sopInstanceUid: z.string(), imageUrl: z.string(), maskUrl: z.string() })) }), 'Key slices'),
      ...authedErrors,
      ...notFound,
    },
  }),
  keySliceImage: createRoute({
    method: 'get',
    path: '/segmentations/{id}/key-slices/{segment}/{part}',
    tags,
    summary: 'A key slice as PNG: the source image, or the segment mask (RGBA, transparent outside the segment)',
    request: { params: z.object({ id: z.uuid(), segment: z.coerce.number().int().min(1).max(65535), part: z.enum(['image', 'mask']) }) },
    responses: { 200: { description: 'PNG', content: { 'image/png': { schema: z.string().openapi({ format: 'binary' }) } } }, ...authedErrors, ...notFound },
  }),
  remove: createRoute({ method: 'delete', path: '/segmentations/{id}', tags, summary: 'Delete a result and its SEG from Orthanc', request: { params: idParam }, responses: { ...noContent, ...authedErrors, ...notFound } }),
};

export const inferenceRoutes = new OpenAPIHono<AppEnv>()
  .openapi(routes.models, async (c) => c.json(await listModels({ ctx: c.get('ctx') }), 200))
  .openapi(routes.submit, async (c) => {
    const ctx = c.get('ctx');
    const { job, created } = await submitJob({ ctx, input: c.req.valid('json'), queue: ctx.inferenceQueue });
    return c.json({ job }, created ? 202 : 200);
  })
  .openapi(routes.list, (c) => c.json(listJobs({ ctx: c.get('ctx'), input: c.req.valid('query') }), 200))
  .openapi(routes.get, (c) => c.json({ job: getJob({ ctx: c.get('ctx'), input: c.req.valid('param') }) }, 200))
  .openapi(routes.cancel, async (c) => c.json({ job: await cancelJob({ ctx: c.get('ctx'), input: c.req.valid('param'), queue: c.get('ctx').inferenceQueue }) }, 200))
  .openapi(routes.results, (c) => c.json(listResults({ ctx: c.get('ctx'), input: c.req.valid('query') }), 200))
  .openapi(routes.result, (c) => c.json(getResult({ ctx: c.get('ctx'), input: c.req.valid('param') }), 200))
  .openapi(routes.validate, (c) => c.json(validateResult({ ctx: c.get('ctx'), input: { ...c.req.valid('param'), ...c.req.valid('json') } }), 200))
  .openapi(routes.keySlices, (c) => c.json(listKeySlices({ ctx: c.get('ctx'), input: c.req.valid('param') }), 200))
  .openapi(routes.keySliceImage, async (c) => {
    const { body } = await keySliceImage({ ctx: c.get('ctx'), input: c.req.valid('param') });
    return c.body(new Uint8Array(body), 200, { 'content-type': 'image/png', 'cache-control': 'private, max-age=300' }) as never;
  })
  .openapi(routes.remove, async (c) => {
    await deleteResult({ ctx: c.get('ctx'), input: c.req.valid('param') });
    return c.body(null, 204);
  });
