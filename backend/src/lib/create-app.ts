import { OpenAPIHono } from '@hono/zod-openapi';
import { getConnInfo } from '@hono/node-server/conninfo';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { adminRoutes } from '../admin/admin.routes.js';
import { authRoutes } from '../auth/auth.routes.js';
import { dicomwebAuthorizeRoutes, dicomwebRoutes } from '../dicomweb/dicomweb.routes.js';
import { invitationRoutes } from '../invitations/invitations.routes.js';
import { studyRoutes } from '../studies/studies.routes.js';
import { importRoutes } from '../imports/imports.routes.js';
import { patientRoutes } from '../studies/patients.routes.js';
import { inferenceRoutes } from '../inference/inference.routes.js';
import { exportRoutes } from '../exports/exports.routes.js';
import { tokenRoutes } from '../tokens/tokens.routes.js';
import { resolvePrincipal } from '../auth/principal.js';
import { docsRoutes } from '../docs/docs.routes.js';
import { healthRoutes } from '../health/health.routes.js';
import type { AppDeps, AppEnv } from './context.js';
import { originCheck } from './csrf.js';
import { AppError, errorBody, formatZodIssues } from './errors.js';
import { requestIdMiddleware } from './request-id.js';

// Hono's validators throw these; say what to change instead of echoing the status text.
const httpExceptionMessages: Record<number, { code: string; message: string }> = {
  413: { code: 'payload_too_large', message: 'The request body is too large.' },
  415: { code: 'unsupported_media_type', message: 'Send the request body as JSON, with Content-Type: application/json.' },
};

// nginx asks these before the DICOMweb requests it serves, and its access log has each of those;
// an allow is logged at debug only: its line cost ~0.2 ms of every study search here (A/B, 2026-12-04).
const authRequestPaths = new Set(['/api/dicomweb/authorize', '/api/dicomweb/search-scope']);

const passwordChangeAllowlist = ['/api/auth/', '/api/health', '/api/docs', '/api/openapi.json', '/api/invitations/', '/api/share/'];

export function createApp(deps: AppDeps) {
  const app = new OpenAPIHono<AppEnv>({
    // Schema failures get the common error shape with a message naming each bad field.
    defaultHook: (result, c) => {
      if (!result.success) {
        return c.json(errorBody(c, 'validation_failed', formatZodIssues(result.error.issues), result.error.issues), 400);
      }
    },
  });

  app.use('*', requestIdMiddleware());

  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    const quiet = c.res.status === 204 && authRequestPaths.has(c.req.path);
    deps.log[quiet ? 'debug' : 'info'](
      { requestId: c.get('requestId'), method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) },
      'request',
    );
  });

  app.use('*', async (c, next) => {
    const forwardedIp = deps.config.trustProxy ? c.req.header('x-real-ip') : undefined;
    let socketIp: string | null = null;
    try {
      socketIp = getConnInfo(c).remote.address ?? null;
    } catch {
      socketIp = null; // not served by node-server (app.request in unit tests)
    }
    const principal = await resolvePrincipal(deps, c);
    c.set('ctx', { ...deps, requestId: c.get('requestId'), ip: forwardedIp ?? socketIp, userAgent: c.req.header('user-agent') ?? null, ...principal });
    await next();
  });

  // Who may call at all is settled before any input is validated, so strangers learn
  // nothing about a route's rules; services check the finer rights again.
  const signedInPrefixes = ['/api/admin/', '/api/tokens', '/api/studies', '/api/imports', '/api/patients', '/api/series/', '/api/inference', '/api/segmentations', '/api/exports', '/api/share-links/', '/api/auth/sessions', '/api/auth/change-password', '/api/auth/logout'];
  app.use('/api/*', async (c, next) => {
    const path = c.req.path;
    if (!signedInPrefixes.some((prefix) => path === prefix || path.startsWith(prefix))) return next();
    const ctx = c.get('ctx');
    if (!ctx.user) {
      const problem = ctx.authProblem ?? { status: 401 as const, code: 'unauthorized', message: 'Sign in to continue.' };
      return c.json(errorBody(c, problem.code, problem.message), problem.status);
    }
    if (path.startsWith('/api/admin/') && ctx.user.role !== 'admin') return c.json(errorBody(c, 'forbidden', 'Only admins may use this.'), 403);
    await next();
  });

  // A read-only API token reads; it cannot revoke, delete, create or store anything.
  app.on(['POST', 'PUT', 'PATCH', 'DELETE'], ['/api/*', '/dicom-web/*'], async (c, next) => {
    const { credential } = c.get('ctx');
    if (credential?.via === 'token' && credential.scope === 'read') {
      return c.json(errorBody(c, 'read_only_token', 'This API token is read-only; use a read-write token or the dashboard for changes.'), 403);
    }
    await next();
  });

  // A user whose password must change may do nothing else until it has.
  app.use('/api/*', async (c, next) => {
    const { user } = c.get('ctx');
    if (user?.mustChangePassword && !passwordChangeAllowlist.some((prefix) => c.req.path.startsWith(prefix))) {
      return c.json(errorBody(c, 'password_change_required', 'Change your password before doing anything else (POST /api/auth/change-password).'), 403);
    }
    await next();
  });

  app.use('/api/*', originCheck(deps.config.publicUrl.origin));
  app.use('/dicom-web/*', originCheck(deps.config.publicUrl.origin));
  // JSON endpoints never need more; uploads get their own streaming routes and limits.
  app.use(
    '/api/auth/*',
    bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.json(errorBody(c, 'payload_too_large', 'The request body is too large (64 KiB at most here).'), 413) }),
  );

  app.onError((error, c) => {
    if (error instanceof AppError) return c.json(errorBody(c, error.code, error.message, error.details), error.status);
    if (error instanceof HTTPException) {
      const known = httpExceptionMessages[error.status];
      return c.json(errorBody(c, known?.code ?? 'bad_request', known?.message ?? (error.message || 'The request could not be processed.')), error.status);
    }
    if (error instanceof SyntaxError) return c.json(errorBody(c, 'malformed_json', 'The request body is not valid JSON.'), 400);
    deps.log.error({ err: error, requestId: c.get('requestId') }, 'unhandled error');
    return c.json(errorBody(c, 'internal_error', 'Something went wrong on our side. The request id identifies it in the logs.'), 500);
  });

  app.notFound((c) => c.json(errorBody(c, 'not_found', `No route for ${c.req.method} ${c.req.path}.`), 404));

  app.route('/api', healthRoutes);
  app.route('/api', authRoutes);
  app.route('/api', adminRoutes);
  app.route('/api', tokenRoutes);
  app.route('/api', studyRoutes);
  app.route('/api', importRoutes);
  app.route('/api', patientRoutes);
  app.route('/api', inferenceRoutes);
  app.route('/api', exportRoutes);
  app.route('/api', invitationRoutes);
  app.route('/api', dicomwebAuthorizeRoutes);
  app.route('/api', docsRoutes);
  app.route('/dicom-web', dicomwebRoutes);

  app.doc31('/api/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Preview-DICOM API',
      version: '0.1.0',
      description: 'Gateway API. DICOMweb (QIDO-RS, WADO-RS, STOW-RS) is served under /dicom-web with the same session.',
    },
  });

  return app;
}
