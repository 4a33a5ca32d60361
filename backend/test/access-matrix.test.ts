// Who may and who may not, for every /api route and every DICOMweb path shape OHIF uses,
// against real Orthanc and Redis. Each row asserts the exact status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapFirstAdmin } from '../src/admin/bootstrap.js';
import { createTestBackend, createUser, ensureGroup, sameOrigin, signIn, startTestServices, type TestBackend, type TestServices } from './harness.js';
import { dicomFiles, stowBody } from './dicom.js';

type Who = 'anonymous' | 'admin' | 'researcherA' | 'radiologistA' | 'researcherB' | 'readTokenA' | 'expired' | 'revoked';

const CT_STUDY = '1.2.392.200103.20080913.113635.0.2009.6.22.21.43.10.22941.1';
const nobody = '00000000-0000-4000-8000-000000000000';

describe('role × route matrix (real Orthanc and Redis)', () => {
  let services: TestServices;
  let backend: TestBackend;
  const auth: Record<Who, Record<string, string>> = {} as never;
  let studyB = '';
  let groupA = '';

  const call = (who: Who, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    backend.app.request(path, {
      method,
      headers: { ...(method === 'GET' ? {} : sameOrigin), ...auth[who], ...headers },
      body: body === undefined ? undefined : Buffer.isBuffer(body) ? new Uint8Array(body) : JSON.stringify(body),
    });

  const stow = (who: Who, files: Buffer[]) => {
    const { body, contentType } = stowBody(files);
    return call(who, 'POST', '/dicom-web/studies', body, { 'content-type': contentType });
  };

  beforeAll(async () => {
    services = await startTestServices();
    backend = createTestBackend(services);
    const deps = backend.deps;
    const admin = await bootstrapFirstAdmin({ db: deps.db, input: { email: 'root@example.org' } });
    if (!admin.created) throw new Error('expected admin');
    deps.db.$client.prepare('UPDATE users SET must_change_password = 0').run();
    groupA = ensureGroup(deps, 'Clinic A');
    const users = {
      researcherA: await createUser(deps, { email: 'res.a@example.org', role: 'researcher', groups: ['Clinic A'] }),
      radiologistA: await createUser(deps, { email: 'rad.a@example.org', role: 'radiologist', groups: ['Clinic A'] }),
      researcherB: await createUser(deps, { email: 'res.b@example.org', role: 'researcher', groups: ['Clinic B'] }),
    };
    auth.anonymous = {};
    auth.admin = { cookie: (await signIn(backend, admin.email, admin.password)).cookie };
    for (const [who, user] of Object.entries(users)) auth[who as Who] = { cookie: (await signIn(backend, user.email, user.password)).cookie };
    const token = await call('researcherA', 'POST', '/api/tokens', { name: 'read', scope: 'read', expiresInDays: 1 });
    auth.readTokenA = { authorization: `Bearer ${((await token.json()) as { secret: string }).secret}` };
    auth.expired = { cookie: 'pd_access=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4Iiwic2lkIjoieSIsInR5cCI6ImFjY2VzcyIsImV4cCI6MX0.x' };
    const doomed = await createUser(deps, { email: 'gone@example.org', role: 'researcher', groups: ['Clinic A'] });
    auth.revoked = { cookie: (await signIn(backend, doomed.email, doomed.password)).cookie };
    await call('revoked', 'POST', '/api/auth/logout-all');

    expect((await stow('researcherA', dicomFiles('seg-dcmqi-ct3slice/ct'))).status).toBe(200);
    const stored = await stow('researcherB', dicomFiles('hierarchy-pydicom-dicomdirtests/98892001'));
    expect(stored.status).toBe(200);
    const listed = (await (await call('researcherB', 'GET', '/api/studies')).json()) as { studies: { studyInstanceUid: string }[] };
    studyB = listed.studies[0]!.studyInstanceUid;
  });

  afterAll(async () => {
    await backend?.close();
    await services?.stop();
  });

  const everyone: Who[] = ['anonymous', 'admin', 'researcherA', 'radiologistA', 'researcherB', 'readTokenA', 'expired', 'revoked'];
  const adminOnly = (ok: number): Record<Who, number> => ({ anonymous: 401, admin: ok, researcherA: 403, radiologistA: 403, researcherB: 403, readTokenA: 403, expired: 401, revoked: 401 });
  const signedIn = (ok: number): Record<Who, number> => ({ anonymous: 401, admin: ok, researcherA: ok, radiologistA: ok, researcherB: ok, readTokenA: ok, expired: 401, revoked: 401 });

  const rows: { name: string; method: string; path: () => string; body?: () => unknown; expect: Record<Who, number> }[] = [
    { name: 'list users', method: 'GET', path: () => '/api/admin/users', expect: adminOnly(200) },
    { name: 'list groups', method: 'GET', path: () => '/api/admin/groups', expect: adminOnly(200) },
    { name: 'all sessions', method: 'GET', path: () => '/api/admin/sessions', expect: adminOnly(200) },
    { name: 'invitations', method: 'GET', path: () => '/api/admin/invitations', expect: adminOnly(200) },
    { name: 'audit', method: 'GET', path: () => '/api/admin/audit', expect: adminOnly(200) },
    { name: 'audit csv', method: 'GET', path: () => '/api/admin/audit.csv', expect: adminOnly(200) },
    { name: 'create group', method: 'POST', path: () => '/api/admin/groups', body: () => ({ name: `G-${Math.random()}` }), expect: { ...adminOnly(201), readTokenA: 403 } },
    { name: 'my session', method: 'GET', path: () => '/api/auth/session', expect: signedIn(200) },
    { name: 'my sessions', method: 'GET', path: () => '/api/auth/sessions', expect: signedIn(200) },
    { name: 'my tokens', method: 'GET', path: () => '/api/tokens', expect: signedIn(200) },
    { name: 'create token (browser session only)', method: 'POST', path: () => '/api/tokens', body: () => ({ name: 'x', scope: 'read', expiresInDays: 1 }), expect: { ...signedIn(201), readTokenA: 403 } },
    { name: 'studies list', method: 'GET', path: () => '/api/studies', expect: signedIn(200) },
    { name: 'share links of study A', method: 'GET', path: () => `/api/studies/${CT_STUDY}/share-links`, expect: { ...signedIn(200), researcherB: 404 } },
    {
      name: 'create share link on study A',
      method: 'POST',
      path: () => `/api/studies/${CT_STUDY}/share-links`,
      body: () => ({ expiresInHours: 1 }),
      expect: { ...signedIn(201), researcherB: 404, readTokenA: 403 },
    },
    // The admin (asked second) shares B with Clinic A: Clinic A may then see B but not re-share it.
    {
      name: 'share study B with Clinic A',
      method: 'POST',
      path: () => `/api/studies/${studyB}/shares`,
      body: () => ({ groupId: groupA }),
      expect: { ...signedIn(403), admin: 204, researcherB: 204 },
    },
    { name: 'unshare study A (not visible to B)', method: 'DELETE', path: () => `/api/studies/${CT_STUDY}/shares/${groupA}`, expect: { ...signedIn(404), radiologistA: 404, readTokenA: 403 } },
    { name: 'update user (unknown id)', method: 'PATCH', path: () => `/api/admin/users/${nobody}`, body: () => ({ displayName: 'x' }), expect: adminOnly(404) },
    { name: 'create user (invalid body)', method: 'POST', path: () => '/api/admin/users', body: () => ({ email: 'not-an-email' }), expect: adminOnly(400) },
    { name: 'update group (unknown id)', method: 'PATCH', path: () => `/api/admin/groups/${nobody}`, body: () => ({ name: 'x' }), expect: adminOnly(404) },
    { name: 'delete group (unknown id)', method: 'DELETE', path: () => `/api/admin/groups/${nobody}`, expect: adminOnly(404) },
    { name: "revoke anyone's session (unknown id)", method: 'DELETE', path: () => `/api/admin/sessions/${nobody}`, expect: adminOnly(404) },
    { name: 'invite (invalid body)', method: 'POST', path: () => '/api/admin/invitations', body: () => ({ email: 'x' }), expect: adminOnly(400) },
    { name: 'withdraw invitation (unknown id)', method: 'DELETE', path: () => `/api/admin/invitations/${nobody}`, expect: adminOnly(404) },
    { name: 'revoke my session (unknown id)', method: 'DELETE', path: () => `/api/auth/sessions/${nobody}`, expect: { ...signedIn(404), readTokenA: 403 } },
    { name: 'revoke my token (unknown id)', method: 'DELETE', path: () => `/api/tokens/${nobody}`, expect: { ...signedIn(404), readTokenA: 403 } },
    { name: 'revoke share link (unknown id)', method: 'DELETE', path: () => `/api/share-links/${nobody}`, expect: { ...signedIn(404), readTokenA: 403 } },
    { name: 'change password (wrong current)', method: 'POST', path: () => '/api/auth/change-password', body: () => ({ currentPassword: 'wrong', newPassword: 'whatever-long-enough-1' }), expect: { ...signedIn(400), readTokenA: 403 } },
    { name: 'invitation (public, unknown)', method: 'GET', path: () => '/api/invitations/unknown-token-0123456789abc', expect: { ...signedIn(404), anonymous: 404, expired: 404, revoked: 404 } },
    {
      name: 'accept invitation (public, unknown)',
      method: 'POST',
      path: () => '/api/invitations/unknown-token-0123456789abc/accept',
      body: () => ({ displayName: 'x', password: 'a-long-enough-password-1' }),
      expect: { ...signedIn(404), anonymous: 404, expired: 404, revoked: 404, readTokenA: 403 },
    },
    { name: 'open share link (public, forged)', method: 'GET', path: () => '/api/share/forged.token.value', expect: { ...signedIn(404), anonymous: 404, expired: 404, revoked: 404 } },
    { name: 'health (public)', method: 'GET', path: () => '/api/health', expect: { ...signedIn(200), anonymous: 200, expired: 200, revoked: 200 } },
    { name: 'my imports', method: 'GET', path: () => '/api/imports', expect: signedIn(200) },
    {
      name: 'create import into Clinic A',
      method: 'POST',
      path: () => '/api/imports',
      body: () => ({ groupId: groupA }),
      expect: { ...signedIn(201), radiologistA: 403, researcherB: 403, readTokenA: 403 },
    },
    { name: 'import (unknown id)', method: 'GET', path: () => `/api/imports/${nobody}`, expect: signedIn(404) },
    { name: 'import files (unknown id)', method: 'GET', path: () => `/api/imports/${nobody}/files`, expect: signedIn(404) },
    { name: 'import events (unknown id)', method: 'GET', path: () => `/api/imports/${nobody}/events`, expect: signedIn(404) },
    { name: 'upload to import (unknown id)', method: 'POST', path: () => `/api/imports/${nobody}/files`, expect: { ...signedIn(404), radiologistA: 403, readTokenA: 403 } },
    { name: 'finish import (unknown id)', method: 'POST', path: () => `/api/imports/${nobody}/finish`, expect: { ...signedIn(404), readTokenA: 403 } },
    { name: 'cancel import (unknown id)', method: 'POST', path: () => `/api/imports/${nobody}/cancel`, expect: { ...signedIn(404), readTokenA: 403 } },
    { name: 'patients', method: 'GET', path: () => '/api/patients', expect: signedIn(200) },
    { name: 'patient (unknown key)', method: 'GET', path: () => '/api/patients/ffffffff-ffffffff-ffffffff-ffffffff-ffffffff', expect: signedIn(404) },
    { name: 'study A details', method: 'GET', path: () => `/api/studies/${CT_STUDY}`, expect: { ...signedIn(200), researcherB: 404 } },
    // Deleting and moving are admin-only; imports.test.ts proves 403 for a researcher who sees the study and 204 for an admin.
    { name: 'delete study (unknown uid)', method: 'DELETE', path: () => '/api/studies/1.2.3.4.5.6.7.8.9', expect: { ...signedIn(404), readTokenA: 403 } },
    { name: 'move study (unknown uid)', method: 'PATCH', path: () => '/api/studies/1.2.3.4.5.6.7.8.9', body: () => ({ ownerGroupId: groupA }), expect: { ...signedIn(404), readTokenA: 403 } },
    { name: 'series thumbnail (unknown uid)', method: 'GET', path: () => '/api/series/1.2.3.4.5.6.7.8.9/thumbnail', expect: signedIn(404) },
    // No inference service is configured here: the model list answers 503 naming it; rights are checked before that.
    { name: 'inference models', method: 'GET', path: () => '/api/inference/models', expect: signedIn(503) },
    {
      name: 'submit inference job (unknown series)',
      method: 'POST',
      path: () => '/api/inference/jobs',
      body: () => ({ seriesInstanceUids: ['1.2.3.4.5.6.7.8.9'], model: 'ct_body_lungs_bone' }),
      expect: { ...signedIn(404), radiologistA: 403, readTokenA: 403 },
    },
    { name: 'inference jobs', method: 'GET', path: () => '/api/inference/jobs', expect: signedIn(200) },
    { name: 'inference job (unknown id)', method: 'GET', path: () => `/api/inference/jobs/${nobody}`, expect: signedIn(404) },
    { name: 'cancel inference job (unknown id)', method: 'POST', path: () => `/api/inference/jobs/${nobody}/cancel`, expect: { ...signedIn(404), radiologistA: 403, readTokenA: 403 } },
    { name: 'segmentations', method: 'GET', path: () => '/api/segmentations', expect: signedIn(200) },
    { name: 'segmentation (unknown id)', method: 'GET', path: () => `/api/segmentations/${nobody}`, expect: signedIn(404) },
    { name: 'key slices (unknown id)', method: 'GET', path: () => `/api/segmentations/${nobody}/key-slices`, expect: signedIn(404) },
    { name: 'key slice image (unknown id)', method: 'GET', path: () => `/api/segmentations/${nobody}/key-slices/1/image`, expect: signedIn(404) },
    { name: 'validate segmentation (unknown id)', method: 'POST', path: () => `/api/segmentations/${nobody}/validation`, body: () => ({ decision: 'approved' }), expect: { ...signedIn(404), readTokenA: 403 } },
    { name: 'delete segmentation (unknown id)', method: 'DELETE', path: () => `/api/segmentations/${nobody}`, expect: { ...signedIn(404), readTokenA: 403 } },
    {
      name: 'export study A',
      method: 'POST',
      path: () => '/api/exports',
      body: () => ({ studyInstanceUids: [CT_STUDY], purpose: 'Matrix check', recipient: 'Nobody' }),
      expect: { ...signedIn(202), radiologistA: 403, researcherB: 403, readTokenA: 403 },
    },
    { name: 'my exports', method: 'GET', path: () => '/api/exports', expect: signedIn(200) },
    { name: 'export (unknown id)', method: 'GET', path: () => `/api/exports/${nobody}`, expect: signedIn(404) },
    { name: 'cancel export (unknown id)', method: 'POST', path: () => `/api/exports/${nobody}/cancel`, expect: { ...signedIn(404), readTokenA: 403 } },
    { name: 'download export (unknown id)', method: 'GET', path: () => `/api/exports/${nobody}/download`, expect: signedIn(404) },
    { name: 'data-use ledger', method: 'GET', path: () => '/api/admin/ledger', expect: adminOnly(200) },
    { name: 'QIDO studies', method: 'GET', path: () => '/dicom-web/studies', expect: signedIn(200) },
    { name: 'QIDO series', method: 'GET', path: () => '/dicom-web/series', expect: signedIn(200) },
    { name: 'QIDO instances', method: 'GET', path: () => '/dicom-web/instances', expect: signedIn(200) },
  ];

  for (const row of rows) {
    it(`${row.method} ${row.name}`, async () => {
      const seen: Record<string, number> = {};
      for (const who of everyone) {
        // The share row must be checked before anyone succeeds at it.
        seen[who] = (await call(who, row.method, row.path(), row.body?.())).status;
      }
      expect(seen).toEqual(row.expect);
    });
  }

  it('covers every route of the OpenAPI document (a new route must join this table)', async () => {
    const documented = Object.entries(((await (await backend.app.request('/api/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> }).paths).flatMap(
      ([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const normalise = (path: string) => path.replace(/\/[0-9a-f-]{36}(?=\/|$)/g, '/{id}').replace(/\/[0-9.]{10,}(?=\/|$)/g, '/{uid}');
    const inMatrix = new Set(rows.map((row) => `${row.method} ${normalise(row.path())}`));
    // Covered by their own tests: sign-in/out and refresh flows (sessions.test.ts, auth.test.ts), the
    // gateway session check and per-study authorization (below), docs and liveness.
    const elsewhere = ['POST /api/auth/refresh', 'POST /api/auth/login', 'POST /api/auth/logout', 'POST /api/auth/logout-all', 'GET /api/auth/check', 'GET /api/health/live', 'GET /api/dicomweb/authorize'];
    const missing = documented
      .map((entry) => entry.replace('{groupId}', '{id}').replace('{key}', '{token}').replace('{segment}/{part}', '1/image'))
      .filter((entry) => !elsewhere.includes(entry))
      .filter((entry) => ![...inMatrix].some((covered) => covered === entry || covered.replace(/\/[^/]+$/, '/{token}') === entry || covered.replace(/\/[^/]+\/accept$/, '/{token}/accept') === entry));
    expect(missing).toEqual([]);
  });

  const studyPathShapes = (uid: string) => [
    `/dicom-web/studies/${uid}/metadata`,
    `/dicom-web/studies/${uid}/series`,
    `/dicom-web/studies/${uid}/series/1.2.3/metadata`,
    `/dicom-web/studies/${uid}/series/1.2.3/instances/1.2.3.4/frames/1`,
    `/dicom-web/studies/${uid}/series/1.2.3/instances/1.2.3.4/rendered`,
    `/dicom-web/studies/${uid}/series/1.2.3/thumbnail`,
    `/dicom-web/studies/${uid}`,
  ];

  it('authorizes WADO-RS per study for every path shape OHIF uses: 204 own, 404 other group (no leak), 401 without a sign-in', async () => {
    // 403 + X-Authz-Reason: not_found is what nginx turns into a 404 (auth_request knows only 2xx/401/403).
    const authorize = async (who: Who, uri: string) => {
      const response = await backend.app.request('/api/dicomweb/authorize', { headers: { ...auth[who], 'x-original-uri': uri } });
      return { status: response.status === 403 && response.headers.get('x-authz-reason') === 'not_found' ? 404 : response.status };
    };
    for (const uri of studyPathShapes(CT_STUDY)) {
      expect((await authorize('researcherA', uri)).status, uri).toBe(204);
      expect((await authorize('radiologistA', uri)).status, uri).toBe(204);
      expect((await authorize('readTokenA', uri)).status, uri).toBe(204);
      expect((await authorize('admin', uri)).status, uri).toBe(204);
      expect((await authorize('researcherB', uri)).status, uri).toBe(404);
      expect((await authorize('anonymous', uri)).status, uri).toBe(401);
      expect((await authorize('expired', uri)).status, uri).toBe(401);
      expect((await authorize('revoked', uri)).status, uri).toBe(401);
    }
    // A study that does not exist answers exactly like one that is hidden.
    expect((await authorize('researcherB', '/dicom-web/studies/1.2.3.4.5/metadata')).status).toBe(404);
    expect((await authorize('researcherA', '/dicom-web/../../system')).status).toBe(404);
  });

  it('lists only accessible studies in QIDO, with pagination over that set', async () => {
    const uids = async (who: Who, query = '') =>
      ((await (await call(who, 'GET', `/dicom-web/studies${query}`)).json()) as Record<string, { Value: string[] }>[]).map((s) => s['0020000D']!.Value[0]);
    expect(await uids('researcherB')).toEqual([studyB]);
    expect((await uids('admin')).sort()).toEqual([CT_STUDY, studyB].sort());
    // Study B was shared with Clinic A in the matrix above.
    expect((await uids('researcherA')).sort()).toEqual([CT_STUDY, studyB].sort());
    expect(await uids('researcherA', '?limit=1&offset=0')).toHaveLength(1);
    const page2 = await uids('researcherA', '?limit=1&offset=1');
    expect(page2).toHaveLength(1);
    expect(page2[0]).not.toBe((await uids('researcherA', '?limit=1&offset=0'))[0]);
    expect(await uids('researcherB', `?StudyInstanceUID=${CT_STUDY}`)).toEqual([]);
    const series = (await (await call('researcherB', 'GET', '/dicom-web/series')).json()) as Record<string, { Value: string[] }>[];
    expect(new Set(series.map((s) => s['0020000D']!.Value[0]))).toEqual(new Set([studyB]));
  });

  it('scopes study searches for nginx (search-scope): each caller gets a query for their own studies only, strangers none', async () => {
    const scope = async (who: Who, uri: string) => {
      const response = await backend.app.request('/api/dicomweb/search-scope', { headers: { ...auth[who], 'x-original-uri': uri } });
      return { status: response.status, query: new URLSearchParams(response.headers.get('x-qido-query') ?? ''), reason: response.headers.get('x-authz-reason') };
    };
    const admin = await scope('admin', '/dicom-web/studies?limit=25&PatientID=x%26y');
    expect(admin.status).toBe(204);
    expect(admin.query.get('PatientID')).toBe('x&y'); // forwarded unchanged, re-encoded
    expect(admin.query.has('StudyInstanceUID')).toBe(false);
    const b = await scope('researcherB', '/dicom-web/studies?limit=25');
    expect(b.status).toBe(204);
    expect(b.query.get('StudyInstanceUID')).toBe(studyB);
    expect(b.query.get('limit')).toBe('25');
    // Asking for another group's study, in any spelling or next to one's own, never widens the list.
    const widened = await scope('researcherB', `/dicom-web/studies?StudyInstanceUID=${studyB},${CT_STUDY}&0020000D=${CT_STUDY}`);
    expect(widened.query.getAll('StudyInstanceUID')).toEqual([studyB]);
    expect(widened.query.has('0020000D')).toBe(false);
    expect(await scope('researcherB', `/dicom-web/studies?StudyInstanceUID=${CT_STUDY}`)).toMatchObject({ status: 403, reason: 'nothing_visible' });
    expect((await scope('readTokenA', '/dicom-web/studies')).status).toBe(204);
    for (const who of ['anonymous', 'expired', 'revoked'] as const) expect((await scope(who, '/dicom-web/studies')).status, who).toBe(401);
    // Only the study search itself is scoped here.
    expect(await scope('admin', '/dicom-web/series?limit=1')).toMatchObject({ status: 403, reason: 'not_found' });
    expect(await scope('admin', '/dicom-web/studies/1.2.3/metadata')).toMatchObject({ status: 403, reason: 'not_found' });
  });

  it('lets only importing roles STOW, attributes stored studies to their group, and shows derived SEGs with their study', async () => {
    const seg = dicomFiles('seg-dcmqi-ct3slice/seg').slice(0, 1);
    expect((await stow('radiologistA', seg)).status).toBe(403);
    expect((await stow('readTokenA', seg)).status).toBe(403);
    expect((await stow('anonymous', seg)).status).toBe(401);
    expect((await stow('researcherA', seg)).status).toBe(200);
    const modalities = (await (await call('radiologistA', 'GET', `/dicom-web/series?StudyInstanceUID=${CT_STUDY}`)).json()) as Record<string, { Value: string[] }>[];
    expect(modalities.map((s) => s['00080060']!.Value[0]).sort()).toEqual(['CT', 'SEG']);
    // Storing into a study another group owns is refused, undone and audited.
    const intoOther = await stow('researcherB', dicomFiles('seg-dcmqi-ct3slice/seg').slice(1, 2));
    expect(intoOther.status).toBe(409);
    const refused = (await intoOther.json()) as Record<string, { Value: Record<string, { Value: unknown[] }>[] }>;
    expect(refused['00081198']!.Value[0]!['00081197']!.Value[0]).toBe(0x0110);
    expect(intoOther.headers.get('warning')).toContain('belongs to a group you cannot access');
    const after = (await (await call('admin', 'GET', `/dicom-web/series?StudyInstanceUID=${CT_STUDY}`)).json()) as unknown[];
    expect(after).toHaveLength(2);
  });

  it('answers a STOW-RS with per-instance results: unreadable parts fail (202 when others pass, 409 when none do)', async () => {
    const good = dicomFiles('seg-dcmqi-ct3slice/ct').slice(0, 1);
    const junk = Buffer.from('this is not DICOM at all');
    const mixed = await stow('researcherA', [...good, junk]);
    expect(mixed.status).toBe(202);
    const body = (await mixed.json()) as Record<string, { Value: Record<string, { Value: unknown[] }>[] }>;
    expect(body['00081199']!.Value).toHaveLength(1);
    expect(body['00081199']!.Value[0]!['00081190']!.Value[0]).toMatch(new RegExp(`/dicom-web/studies/${CT_STUDY.replace(/\./g, '\\.')}/series/`));
    expect(body['00081198']!.Value[0]!['00081197']!.Value[0]).toBe(0xc000);
    expect((await stow('researcherA', [junk])).status).toBe(409);
    const noBoundary = await call('researcherA', 'POST', '/dicom-web/studies', new Uint8Array(junk), { 'content-type': 'multipart/related; type="application/dicom"' });
    expect(noBoundary.status).toBe(400);
  });

  it('will not let a STOW claim a study already in the archive without an owner', async () => {
    // Stored straight into Orthanc, as C-STORE would: in the archive, in no group's registry.
    const [file] = dicomFiles('hierarchy-pydicom-dicomdirtests/98892003');
    const direct = await fetch(`${services.orthanc.url}/instances`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${services.orthanc.user}:${services.orthanc.password}`).toString('base64')}` },
      body: new Uint8Array(file!),
    });
    const { ParentStudy } = (await direct.json()) as { ParentStudy: string };
    const claim = await stow('researcherA', [file!]);
    expect(claim.status).toBe(409);
    expect(claim.headers.get('warning')).toContain('without an owning group');
    // The instance was there before the request, so it stays.
    expect((await fetch(`${services.orthanc.url}/studies/${ParentStudy}`, { headers: { authorization: `Basic ${Buffer.from(`${services.orthanc.user}:${services.orthanc.password}`).toString('base64')}` } })).status).toBe(200);
  });
});
