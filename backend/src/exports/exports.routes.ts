import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { Readable } from 'node:stream';
import type { AppEnv } from '../lib/context.js';
import { authedErrors, errorResponses, json, jsonBody } from '../lib/openapi.js';
import { cancelExport, createExport, createExportInputSchema, exportListQuerySchema, getExport, ledger, ledgerQuerySchema, listExports, openDownload } from './exports.service.js';

const exportSchema = z
  .object({
    id: z.string(),
    status: z.enum(['running', 'completed', 'failed', 'cancelled']),
    options: z.object({ format: z.enum(['dicom', 'nifti', 'both']), deidentify: z.boolean(), deidOptions: z.array(z.string()), includeBurnedIn: z.boolean() }),
    purpose: z.string(),
    recipient: z.string(),
    createdBy: z.string(),
    studyCount: z.number(),
    progress: z.object({ instancesTotal: z.number(), instancesDone: z.number(), filesWritten: z.number(), bytesWritten: z.number() }),
    flaggedSeries: z.array(z.object({ seriesInstanceUid: z.string(), reason: z.string(), excluded: z.boolean() })),
    error: z.string().nullable(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
    expiresAt: z.string().nullable(),
    downloadUrl: z.string().nullable(),
  })
  .openapi('Export');
const idParam = z.object({ id: z.uuid() });
const tags = ['exports'];
const exportAnswer = json(z.object({ export: exportSchema }), 'The export');
const totalsSchema = z.object({ exports: z.number(), studies: z.number(), instances: z.number(), bytes: z.number(), deidentifiedStudies: z.number() });

const routes = {
  create: createRoute({
    method: 'post',
    path: '/exports',
    tags,
    summary: 'Start an export (studies, patients or a patients-list search; DICOM and/or NIfTI; identified or de-identified per PS3.15)',
    request: jsonBody(createExportInputSchema),
    responses: { 202: exportAnswer, ...authedErrors },
  }),
  list: createRoute({ method: 'get', path: '/exports', tags, summary: 'My exports (all for admins), newest first', request: { query: exportListQuerySchema }, responses: { 200: json(z.object({ exports: z.array(exportSchema), total: z.number() }), 'Exports'), ...authedErrors } }),
  get: createRoute({ method: 'get', path: '/exports/{id}', tags, summary: 'One export with its progress', request: { params: idParam }, responses: { 200: exportAnswer, ...authedErrors, 404: errorResponses[404] } }),
  cancel: createRoute({ method: 'post', path: '/exports/{id}/cancel', tags, summary: 'Cancel a running export', request: { params: idParam }, responses: { 200: exportAnswer, ...authedErrors, 404: errorResponses[404], 409: errorResponses[409] } }),
  download: createRoute({
    method: 'get',
    path: '/exports/{id}/download',
    tags,
    summary: 'The ZIP (its creator only, until it expires; each download is audited)',
    request: { params: idParam },
    responses: { 200: { description: 'ZIP', content: { 'application/zip': { schema: z.string().openapi({ format: 'binary' }) } } }, ...authedErrors, 404: errorResponses[404], 409: errorResponses[409], 410: errorResponses[404] },
  }),
  ledger: createRoute({
    method: 'get',
    path: '/admin/ledger',
    tags: ['admin'],
    summary: 'Data-use ledger: what was exported, per group and per recipient (admins)',
    request: { query: ledgerQuerySchema },
    responses: {
      200: json(
        z.object({
          byGroup: z.array(totalsSchema.extend({ groupId: z.string(), groupName: z.string() })),
          byRecipient: z.array(totalsSchema.extend({ recipient: z.string() })),
          entries: z.array(z.object({ exportId: z.string(), groupId: z.string(), groupName: z.string(), at: z.string(), exportedBy: z.string(), recipient: z.string(), purpose: z.string(), deidentified: z.boolean(), studyCount: z.number(), instanceCount: z.number(), bytes: z.number() })),
        }),
        'Ledger',
      ),
      ...authedErrors,
    },
  }),
};

export const exportRoutes = new OpenAPIHono<AppEnv>()
  .openapi(routes.create, (c) => c.json({ export: createExport({ ctx: c.get('ctx'), input: c.req.valid('json') }) }, 202))
  .openapi(routes.list, (c) => c.json(listExports({ ctx: c.get('ctx'), input: c.req.valid('query') }), 200))
  .openapi(routes.get, (c) => c.json({ export: getExport({ ctx: c.get('ctx'), input: c.req.valid('param') }) }, 200))
  .openapi(routes.cancel, (c) => c.json({ export: cancelExport({ ctx: c.get('ctx'), input: c.req.valid('param') }) }, 200))
  .openapi(routes.download, (c) => {
    const file = openDownload({ ctx: c.get('ctx'), input: c.req.valid('param') });
    return new Response(Readable.toWeb(file.stream) as ReadableStream, {
      status: 200,
      headers: { 'content-type': 'application/zip', 'content-length': String(file.size), 'content-disposition': `attachment; filename="${file.name}"`, 'cache-control': 'no-store' },
    }) as never;
  })
  .openapi(routes.ledger, (c) => c.json(ledger({ ctx: c.get('ctx'), input: c.req.valid('query') }), 200));
