import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { Readable } from 'node:stream';
import type { AppEnv } from '../lib/context.js';
import { authedErrors, errorResponses, json, jsonBody, noContent } from '../lib/openapi.js';
import { deleteStudy, getPatient, getStudy, listPatients, moveStudy, moveStudyInputSchema, patientKeySchema, patientListQuerySchema, seriesThumbnail } from './patients.service.js';
import { studyUidSchema } from './studies.service.js';

const groupRef = z.object({ id: z.string(), name: z.string() });
const patientSchema = z.object({ key: z.string(), patientId: z.string(), patientName: z.string(), birthDate: z.string(), sex: z.string() });
const patientSummarySchema = patientSchema
  .extend({ studyCount: z.number(), lastStudyDate: z.string(), modalities: z.array(z.string()), groups: z.array(groupRef) })
  .openapi('PatientSummary');
const seriesSchema = z
  .object({ seriesInstanceUid: z.string(), modality: z.string(), seriesNumber: z.number().nullable(), seriesDescription: z.string(), bodyPart: z.string(), instanceCount: z.number(), thumbnailUrl: z.string() })
  .openapi('SeriesSummary');
const studyDetailSchema = z
  .object({
    studyInstanceUid: z.string(),
    patientKey: z.string().nullable(),
    patientId: z.string(),
    patientName: z.string(),
    studyDate: z.string(),
    studyDescription: z.string(),
    accessionNumber: z.string(),
    modalities: z.array(z.string()),
    instanceCount: z.number(),
    source: z.string(),
    ownerGroup: groupRef,
    sharedWith: z.array(groupRef),
    series: z.array(seriesSchema),
  })
  .openapi('StudyDetail');
const tags = ['registry'];
const notFound = { 404: errorResponses[404] };
const studyParam = z.object({ uid: studyUidSchema });

const routes = {
  list: createRoute({
    method: 'get',
    path: '/patients',
    tags,
    summary: 'Patients with studies I may see: search (name, ID), filters (modality, study date range, group), sorting, pagination',
    request: { query: patientListQuerySchema },
    responses: { 200: json(z.object({ patients: z.array(patientSummarySchema), total: z.number() }), 'Patients'), ...authedErrors },
  }),
  get: createRoute({
    method: 'get',
    path: '/patients/{key}',
    tags,
    summary: 'A patient with the studies and series I may see',
    request: { params: z.object({ key: patientKeySchema }) },
    responses: { 200: json(z.object({ patient: patientSchema, studies: z.array(studyDetailSchema) }), 'Patient'), ...authedErrors, ...notFound },
  }),
  study: createRoute({ method: 'get', path: '/studies/{uid}', tags, summary: 'One study with its series', request: { params: studyParam }, responses: { 200: json(z.object({ study: studyDetailSchema }), 'Study'), ...authedErrors, ...notFound } }),
  deleteStudy: createRoute({ method: 'delete', path: '/studies/{uid}', tags, summary: 'Delete a study from Orthanc and the registry (admins)', request: { params: studyParam }, responses: { ...noContent, ...authedErrors, ...notFound } }),
  moveStudy: createRoute({
    method: 'patch',
    path: '/studies/{uid}',
    tags,
    summary: 'Move a study to another owning group, e.g. out of the Unassigned inbox (admins)',
    request: { params: studyParam, ...jsonBody(moveStudyInputSchema) },
    responses: { 200: json(z.object({ study: studyDetailSchema }), 'Study'), ...authedErrors, ...notFound },
  }),
  thumbnail: createRoute({
    method: 'get',
    path: '/series/{uid}/thumbnail',
    tags,
    summary: "PNG preview of a series' middle image (rendered by Orthanc)",
    request: { params: studyParam },
    responses: { 200: { description: 'PNG', content: { 'image/png': { schema: z.string().openapi({ format: 'binary' }) } } }, ...authedErrors, ...notFound },
  }),
};

export const patientRoutes = new OpenAPIHono<AppEnv>()
  .openapi(routes.list, (c) => c.json(listPatients({ ctx: c.get('ctx'), input: c.req.valid('query') }), 200))
  .openapi(routes.get, (c) => c.json(getPatient({ ctx: c.get('ctx'), input: c.req.valid('param') }), 200))
  .openapi(routes.study, (c) => c.json(getStudy({ ctx: c.get('ctx'), input: { studyInstanceUid: c.req.valid('param').uid } }), 200))
  .openapi(routes.deleteStudy, async (c) => {
    await deleteStudy({ ctx: c.get('ctx'), input: { studyInstanceUid: c.req.valid('param').uid } });
    return c.body(null, 204);
  })
  .openapi(routes.moveStudy, (c) => c.json(moveStudy({ ctx: c.get('ctx'), input: { studyInstanceUid: c.req.valid('param').uid, ...c.req.valid('json') } }), 200))
  .openapi(routes.thumbnail, async (c) => {
    const body = await seriesThumbnail({ ctx: c.get('ctx'), input: { seriesInstanceUid: c.req.valid('param').uid } });
    return new Response(Readable.toWeb(body as unknown as Readable) as ReadableStream, { status: 200, headers: { 'content-type': 'image/png', 'cache-control': 'private, max-age=300' } }) as never;
  });
