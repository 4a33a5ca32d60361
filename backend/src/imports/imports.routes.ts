import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { AppEnv } from '../lib/context.js';
import { authedErrors, errorResponses, json, jsonBody } from '../lib/openapi.js';
import {
  cancelImport,
  failImport as cancelOrFail,
  createImport,
  createImportInputSchema,
  finishImport,
  getImport,
  importFilesQuerySchema,
  importListQuerySchema,
  listImportFiles,
  listImports,
  uploadToImport,
  type ImportJobView,
} from './imports.service.js';
import { AppError } from '../lib/errors.js';
import { requestBodyStream } from '../lib/request-body.js';

const groupRef = z.object({ id: z.string(), name: z.string() });
const importJobSchema = z
  .object({
    id: z.string(),
    label: z.string(),
    ownerGroup: groupRef,
    createdBy: z.object({ id: z.string().nullable(), email: z.string().nullable() }),
    status: z.enum(['open', 'processing', 'completed', 'cancelled', 'failed']),
    createdAt: z.string(),
    updatedAt: z.string(),
    finishedAt: z.string().nullable(),
    error: z.string().nullable(),
    counters: z.object({ filesReceived: z.number(), bytesReceived: z.number(), instancesStored: z.number(), duplicates: z.number(), rejected: z.number(), skipped: z.number() }),
    warnings: z.array(z.string()),
    studies: z.array(z.object({ studyInstanceUid: z.string(), patientKey: z.string().nullable(), patientId: z.string(), patientName: z.string(), studyDescription: z.string() })),
  })
  .openapi('ImportJob');
const importFileSchema = z
  .object({ seq: z.number(), name: z.string(), outcome: z.enum(['stored', 'duplicate', 'rejected', 'skipped']), reason: z.string().nullable(), instances: z.number(), studyInstanceUid: z.string().nullable() })
  .openapi('ImportFileResult');
const idParam = z.object({ id: z.uuid() });
const tags = ['imports'];
const jobAnswer = json(z.object({ import: importJobSchema }), 'The import');
const conflict = { 404: errorResponses[404], 409: errorResponses[409] };

const multipartBody = {
  description:
    'multipart/form-data: one part per file (field name "file"; the file name may be a relative path). DICOM files, ZIP archives and NIfTI volumes. Text fields patientName, patientId, studyDescription, modality (CT|MR), seriesDescription, patientBirthDate, patientSex apply to the NIfTI files that follow them.',
  content: { 'multipart/form-data': { schema: z.object({ file: z.array(z.string().openapi({ format: 'binary' })) }) } },
};

const routes = {
  list: createRoute({ method: 'get', path: '/imports', tags, summary: 'My imports (all for admins), newest first', request: { query: importListQuerySchema }, responses: { 200: json(z.object({ imports: z.array(importJobSchema), total: z.number() }), 'Imports'), ...authedErrors } }),
  get: createRoute({ method: 'get', path: '/imports/{id}', tags, summary: 'One import with its counters', request: { params: idParam }, responses: { 200: jobAnswer, ...authedErrors, 404: errorResponses[404] } }),
  files: createRoute({
    method: 'get',
    path: '/imports/{id}/files',
    tags,
    summary: 'Per-file results of an import (outcome and reason)',
    request: { params: idParam, query: importFilesQuerySchema },
    responses: { 200: json(z.object({ files: z.array(importFileSchema), total: z.number() }), 'Files'), ...authedErrors, 404: errorResponses[404] },
  }),
  finish: createRoute({ method: 'post', path: '/imports/{id}/finish', tags, summary: 'No more files: complete the import', request: { params: idParam }, responses: { 200: jobAnswer, ...authedErrors, ...conflict } }),
  cancel: createRoute({ method: 'post', path: '/imports/{id}/cancel', tags, summary: 'Cancel the import (what was stored stays)', request: { params: idParam }, responses: { 200: jobAnswer, ...authedErrors, ...conflict } }),
};

async function upload(c: Context<AppEnv>, id: string) {
  const length = c.req.header('content-length');
  return uploadToImport({
    ctx: c.get('ctx'),
    input: { id, body: requestBodyStream(c), contentType: c.req.header('content-type') ?? '', contentLength: length && /^\d+$/.test(length) ? Number(length) : null },
  });
}

const terminal = (job: ImportJobView) => !['open', 'processing'].includes(job.status);

export const importRoutes = new OpenAPIHono<AppEnv>()
  .openapi(routes.list, (c) => c.json(listImports({ ctx: c.get('ctx'), input: c.req.valid('query') }), 200))
  .openapi(routes.get, (c) => c.json({ import: getImport({ ctx: c.get('ctx'), input: c.req.valid('param') }) }, 200))
  .openapi(routes.files, (c) => c.json(listImportFiles({ ctx: c.get('ctx'), input: { ...c.req.valid('param'), ...c.req.valid('query') } }), 200))
  .openapi(routes.finish, (c) => c.json({ import: finishImport({ ctx: c.get('ctx'), input: c.req.valid('param') }) }, 200))
  .openapi(routes.cancel, (c) => c.json({ import: cancelImport({ ctx: c.get('ctx'), input: c.req.valid('param') }) }, 200));

importRoutes
  // Uploads are read as streams, so these two are plain routes documented below, not validated bodies.
  .post('/imports', async (c) => {
    const ctx = c.get('ctx');
    const contentType = c.req.header('content-type') ?? '';
    if (/^application\/json/i.test(contentType)) {
      const parsed = createImportInputSchema.safeParse(await c.req.json().catch(() => null));
      if (!parsed.success) throw new AppError(400, 'validation_failed', 'Send {"groupId": "<uuid of the target group>", "label"?: "..."} as JSON, or the files as multipart/form-data with a groupId field first.');
      return c.json({ import: createImport({ ctx, input: parsed.data }) }, 201);
    }
    if (!/^multipart\/form-data/i.test(contentType)) throw new AppError(415, 'unsupported_media_type', 'Send JSON to create an import, or the files as multipart/form-data with ?groupId=<uuid>.');
    // One request for scripts: create the import, store the files, complete it.
    const user = ctx.user;
    const groupId = c.req.query('groupId') ?? (user?.groups.length === 1 ? user.groups[0]!.id : undefined);
    const parsed = createImportInputSchema.safeParse({ groupId, label: c.req.query('label') });
    if (!parsed.success) throw new AppError(400, 'validation_failed', 'Name the target group with ?groupId=<uuid> (needed unless you belong to exactly one group).');
    const job = createImport({ ctx, input: parsed.data });
    try {
      await upload(c, job.id);
    } catch (error) {
      // The import stays listed (as failed) with whatever was stored before the problem.
      cancelOrFail(ctx, job.id, error as Error);
      throw error;
    }
    return c.json({ import: finishImport({ ctx, input: { id: job.id } }) }, 201);
  })
  .post('/imports/:id{[0-9a-f-]{36}}/files', async (c) => c.json({ import: await upload(c, c.req.param('id')) }, 200))
  .get('/imports/:id{[0-9a-f-]{36}}/events', (c) => {
    const ctx = c.get('ctx');
    const id = c.req.param('id');
    let job = getImport({ ctx, input: { id } });
    c.header('X-Accel-Buffering', 'no');
    c.header('Cache-Control', 'no-store');
    return streamSSE(c, async (stream) => {
      let closed = false;
      stream.onAbort(() => {
        closed = true;
      });
      let lastSent = '';
      let lastBeat = Date.now();
      while (!closed) {
        const payload = JSON.stringify(job);
        if (payload !== lastSent) {
          await stream.writeSSE({ event: terminal(job) ? 'end' : 'progress', data: payload });
          lastSent = payload;
          lastBeat = Date.now();
        } else if (Date.now() - lastBeat > 15_000) {
          await stream.write(': keep-alive\n\n');
          lastBeat = Date.now();
        }
        if (terminal(job)) break;
        await stream.sleep(500);
        try {
          job = getImport({ ctx, input: { id } });
        } catch {
          break;
        }
      }
    });
  });

importRoutes.openAPIRegistry.registerPath({
  method: 'post',
  path: '/imports',
  tags,
  summary: 'Create an import (JSON {groupId}); or, with multipart/form-data and ?groupId=, create, store and complete it in one request',
  request: { body: { required: true, content: { 'application/json': { schema: createImportInputSchema }, ...multipartBody.content }, description: multipartBody.description } },
  responses: { 201: jobAnswer, ...authedErrors, 413: errorResponses[400], 415: errorResponses[400] },
});
importRoutes.openAPIRegistry.registerPath({
  method: 'post',
  path: '/imports/{id}/files',
  tags,
  summary: 'Upload a batch of files into an open import; answers when the batch is stored',
  request: { params: idParam, body: { required: true, ...multipartBody } },
  responses: { 200: jobAnswer, ...authedErrors, ...conflict, 413: errorResponses[400] },
});
importRoutes.openAPIRegistry.registerPath({
  method: 'get',
  path: '/imports/{id}/events',
  tags,
  summary: 'Progress as Server-Sent Events: "progress" with the ImportJob on each change, "end" when it is over',
  request: { params: idParam },
  responses: { 200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: z.string() } } }, ...authedErrors, 404: errorResponses[404] },
});
