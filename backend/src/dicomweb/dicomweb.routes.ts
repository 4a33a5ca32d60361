import { Hono } from 'hono';
import type { Context } from 'hono';
import type { AppEnv } from '../lib/context.js';
import { AppError } from '../lib/errors.js';
import { authorizeStudyRequest, scopeStudySearch, searchDicomweb, storeDicomweb, type QidoLevel } from './dicomweb.service.js';

/** Orthanc builds RetrieveURLs from this, so they name the gateway the client used. */
function forwardedFor(c: Context): string {
  const host = (c.req.header('x-forwarded-host') ?? c.req.header('host') ?? 'localhost').replace(/[;,"\s]/g, '');
  const proto = c.req.header('x-forwarded-proto') === 'https' ? 'https' : 'http';
  return `host=${host};proto=${proto}`;
}

const qido = (level: QidoLevel) => async (c: Context<AppEnv>) => {
  const results = await searchDicomweb({ ctx: c.get('ctx'), input: { level, query: new URL(c.req.url).searchParams, forwarded: forwardedFor(c) } });
  return c.body(results, 200, { 'Content-Type': 'application/dicom+json', 'Cache-Control': 'no-store' });
};

const stow = async (c: Context<AppEnv>) => {
  const contentType = c.req.header('content-type') ?? '';
  if (!/^multipart\/related/i.test(contentType)) {
    throw new AppError(415, 'unsupported_media_type', 'STOW-RS takes multipart/related; type="application/dicom" bodies.');
  }
  const host = (c.req.header('x-forwarded-host') ?? c.req.header('host') ?? 'localhost').replace(/[^\w.:[\]-]/g, '');
  const proto = c.req.header('x-forwarded-proto') === 'https' ? 'https' : 'http';
  const result = await storeDicomweb({
    ctx: c.get('ctx'),
    input: { body: c.req.raw.body, contentType, targetStudyUid: c.req.param('uid'), ownerGroupId: c.req.header('x-owner-group') || undefined, baseUrl: `${proto}://${host}` },
  });
  // Failures are explained in the answer's FailedSOPSequence; this header says why in words.
  if (result.warning) c.header('Warning', `299 preview-dicom "${result.warning.replace(/"/g, "'").replace(/[^\x20-\x7e]/g, '?')}"`);
  return c.body(result.body, result.status as 200, { 'Content-Type': 'application/dicom+json' });
};

/** Searches and stores, which need the registry. Retrieval (WADO-RS) goes from nginx straight to Orthanc after /api/dicomweb/authorize. */
export const dicomwebRoutes = new Hono<AppEnv>()
  .get('/studies', qido('studies'))
  .get('/series', qido('series'))
  .get('/instances', qido('instances'))
  .post('/studies', stow)
  .post('/studies/:uid{[0-9.]+}', stow);

/**
 * nginx auth_request target for /dicom-web/studies/{uid}/...: 204 allow, 401 no credentials,
 * 403 otherwise. auth_request only understands 2xx/401/403, so X-Authz-Reason tells nginx
 * to answer 404 for a study the caller may not see (exactly as for a missing one).
 */
/** An auth_request answer: 204, or 401, or 403 with X-Authz-Reason (nginx maps that to the answer the caller gets). */
async function authRequestAnswer(c: Context<AppEnv>, decide: () => Promise<void> | void) {
  c.header('Cache-Control', 'no-store');
  try {
    await decide();
    return c.body(null, 204);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    if (error.status === 401) return c.body(null, 401);
    c.header('X-Authz-Reason', error.status === 404 ? 'not_found' : error.code);
    return c.body(null, 403);
  }
}

export const dicomwebAuthorizeRoutes = new Hono<AppEnv>()
  .get('/dicomweb/authorize', (c) => authRequestAnswer(c, () => authorizeStudyRequest({ ctx: c.get('ctx'), input: { originalUri: c.req.header('x-original-uri') ?? '' } })))
  /**
   * nginx auth_request target for GET /dicom-web/studies?...: 204 with X-Qido-Query, the query
   * to send Orthanc (narrowed to the caller's studies); 403 with X-Authz-Reason nothing_visible
   * (nginx answers []) or filter_in_backend (nginx hands the search to the backend).
   */
  .get('/dicomweb/search-scope', (c) =>
    authRequestAnswer(c, () => {
      const scope = scopeStudySearch({ ctx: c.get('ctx'), input: { originalUri: c.req.header('x-original-uri') ?? '' } });
      if (scope.kind === 'orthanc') c.header('X-Qido-Query', scope.query);
      else throw new AppError(403, scope.kind === 'nothing-visible' ? 'nothing_visible' : 'filter_in_backend', 'Answered by the gateway.');
    }),
  );
