import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../infra/src/ports.js';
import { createTestBackend, createUser, ensureGroup, sameOrigin, sessionCookies, signIn, startTestServices, type TestBackend, type TestServices } from './harness.js';
import { dicomFiles, stowBody } from './dicom.js';

describe('admin: users, groups, invitations, tokens, share links, audit (real Orthanc and Redis)', () => {
  let services: TestServices;
  let backend: TestBackend;
  let admin: string;
  let researcher: { id: string; email: string; password: string; cookie: string };
  const mails: string[] = [];
  let smtp: SMTPServer;

  const call = (cookieOrAuth: string | Record<string, string>, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    backend.app.request(path, {
      method,
      headers: { ...(method === 'GET' ? {} : sameOrigin), ...(typeof cookieOrAuth === 'string' ? (cookieOrAuth ? { cookie: cookieOrAuth } : {}) : cookieOrAuth), ...headers },
      body: body === undefined ? undefined : body instanceof Uint8Array ? (body as Uint8Array<ArrayBuffer>) : JSON.stringify(body),
    });

  beforeAll(async () => {
    services = await startTestServices();
    const smtpPort = await findFreePort();
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, _session, done) {
        let text = '';
        stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
        stream.on('end', () => {
          mails.push(text);
          done();
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(smtpPort, '127.0.0.1', r));
    backend = createTestBackend(services, { PD_SMTP_URL: `smtp://127.0.0.1:${smtpPort}` });
    const a = await createUser(backend.deps, { email: 'boss@example.org', role: 'admin', groups: ['Radiology'] });
    admin = (await signIn(backend, a.email, a.password)).cookie;
    const r = await createUser(backend.deps, { email: 'lab@example.org', role: 'researcher', groups: ['Lab'] });
    researcher = { ...r, cookie: (await signIn(backend, r.email, r.password)).cookie };
  });
  afterAll(async () => {
    await backend?.close();
    await services?.stop();
    await new Promise<void>((r) => smtp?.close(() => r()));
  });

  it('creates a user with a one-time generated password that must be changed, and disables them (sessions end at once)', async () => {
    const labId = ensureGroup(backend.deps, 'Lab');
    const created = await call(admin, 'POST', '/api/admin/users', { email: 'New.Person@Example.org', displayName: 'New Person', role: 'radiologist', groupIds: [labId] });
    expect(created.status).toBe(201);
    const body = (await created.json()) as { user: { id: string; email: string; mustChangePassword: boolean; groups: { name: string }[] }; password: string };
    expect(body.user).toMatchObject({ email: 'new.person@example.org', mustChangePassword: true, groups: [{ name: 'Lab' }] });
    expect((await call(admin, 'POST', '/api/admin/users', { email: 'new.person@example.org', displayName: 'x', role: 'admin' })).status).toBe(409);
    expect((await call(admin, 'POST', '/api/admin/users', { email: 'x@example.org', displayName: 'x', role: 'superuser' })).status).toBe(400);

    const { cookie } = await signIn(backend, 'new.person@example.org', body.password);
    const disabled = await call(admin, 'PATCH', `/api/admin/users/${body.user.id}`, { isActive: false });
    expect(disabled.status).toBe(200);
    expect((await call(cookie, 'GET', '/api/auth/session')).status).toBe(401);
    const selfDemote = await call(admin, 'GET', '/api/auth/session');
    const me = ((await selfDemote.json()) as { user: { id: string } }).user.id;
    expect((await call(admin, 'PATCH', `/api/admin/users/${me}`, { role: 'researcher' })).status).toBe(409);
  });

  it('invites by e-mail (SMTP) with a one-time 72 h link that creates the account and signs in', async () => {
    const labId = ensureGroup(backend.deps, 'Lab');
    const invited = await call(admin, 'POST', '/api/admin/invitations', { email: 'guest@example.org', role: 'researcher', groupIds: [labId] });
    expect(invited.status).toBe(201);
    const { link, emailed, invitation } = (await invited.json()) as { link: string; emailed: boolean; invitation: { expiresAt: string } };
    expect(emailed).toBe(true);
    expect(mails.at(-1)).toContain(link.replace('=', '=3D').slice(0, 40));
    expect(new Date(invitation.expiresAt).getTime() - Date.now()).toBeGreaterThan(71 * 3600_000);
    const token = link.split('/invite/')[1]!;

    const described = await call('', 'GET', `/api/invitations/${token}`);
    expect(await described.json()).toMatchObject({ email: 'guest@example.org', role: 'researcher' });
    const weak = await call('', 'POST', `/api/invitations/${token}/accept`, { displayName: 'Guest', password: 'password' });
    expect(weak.status).toBe(400);
    const accepted = await call('', 'POST', `/api/invitations/${token}/accept`, { displayName: 'Guest', password: 'a-fine-long-secret-99' });
    expect(accepted.status).toBe(200);
    const cookie = sessionCookies(accepted);
    expect(((await (await call(cookie, 'GET', '/api/auth/session')).json()) as { user: { groups: { name: string }[] } }).user.groups).toEqual([{ id: labId, name: 'Lab' }]);
    expect((await call('', 'POST', `/api/invitations/${token}/accept`, { displayName: 'Again', password: 'a-fine-long-secret-99' })).status).toBe(404);
    expect((await call('', 'GET', '/api/invitations/not-a-real-token-at-all-123')).status).toBe(404);
  });

  it('shows the invitation link to the admin when there is no SMTP server', async () => {
    const noSmtp = createTestBackend(services);
    try {
      const a = await createUser(noSmtp.deps, { email: 'boss2@example.org', role: 'admin' });
      const { cookie } = await signIn(noSmtp, a.email, a.password);
      const invited = await noSmtp.app.request('/api/admin/invitations', { method: 'POST', headers: { ...sameOrigin, cookie }, body: JSON.stringify({ email: 'x@example.org', role: 'radiologist' }) });
      expect(await invited.json()).toMatchObject({ emailed: false, link: expect.stringMatching(/^http:\/\/gateway\.test\/invite\/[\w-]{43}$/) });
    } finally {
      await noSmtp.close();
    }
  });

  it('refuses to delete a group that owns studies, naming why', async () => {
    const { body, contentType } = stowBody(dicomFiles('seg-dcmqi-ct3slice/ct'));
    expect((await call(researcher.cookie, 'POST', '/dicom-web/studies', new Uint8Array(body), { 'content-type': contentType })).status).toBe(200);
    const labId = ensureGroup(backend.deps, 'Lab');
    const refused = await call(admin, 'DELETE', `/api/admin/groups/${labId}`);
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/owns 1 study/);
    const empty = ((await (await call(admin, 'POST', '/api/admin/groups', { name: 'Temporary' })).json()) as { group: { id: string } }).group.id;
    expect((await call(admin, 'POST', '/api/admin/groups', { name: 'temporary' })).status).toBe(409);
    expect((await call(admin, 'DELETE', `/api/admin/groups/${empty}`)).status).toBe(204);
  });

  it('accepts API tokens as Bearer on /api and /dicom-web, read-only ones cannot write, revoked ones stop working', async () => {
    const created = await call(researcher.cookie, 'POST', '/api/tokens', { name: 'script', scope: 'read', expiresInDays: 30 });
    const { secret, token } = (await created.json()) as { secret: string; token: { id: string; prefix: string } };
    expect(secret).toMatch(/^pdt_/);
    expect(secret.startsWith(token.prefix)).toBe(true);
    const bearer = { authorization: `Bearer ${secret}` };
    expect((await call(bearer, 'GET', '/dicom-web/studies')).status).toBe(200);
    expect((await call(bearer, 'GET', '/api/studies')).status).toBe(200);
    const { body, contentType } = stowBody(dicomFiles('seg-dcmqi-ct3slice/seg').slice(0, 1));
    expect((await call(bearer, 'POST', '/dicom-web/studies', new Uint8Array(body), { 'content-type': contentType })).status).toBe(403);
    // Read-only means no writes at all: it cannot end its owner's sessions or revoke tokens.
    const logoutAll = await call(bearer, 'POST', '/api/auth/logout-all');
    expect(logoutAll.status).toBe(403);
    expect(((await logoutAll.json()) as { error: { code: string } }).error.code).toBe('read_only_token');
    expect((await call(bearer, 'DELETE', `/api/tokens/${token.id}`)).status).toBe(403);
    expect((await call(researcher.cookie, 'GET', '/api/auth/session')).status).toBe(200);
    const listed = (await (await call(researcher.cookie, 'GET', '/api/tokens')).json()) as { tokens: { id: string; lastUsedAt: string | null }[] };
    expect(listed.tokens[0]!.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(listed)).not.toContain(secret);
    expect((await call(researcher.cookie, 'DELETE', `/api/tokens/${token.id}`)).status).toBe(204);
    expect((await call(bearer, 'GET', '/dicom-web/studies')).status).toBe(401);
  });

  it('opens a share link without an account: a cookie for that one study only; revoked links stop; every use audited', async () => {
    const uid = ((await (await call(researcher.cookie, 'GET', '/api/studies')).json()) as { studies: { studyInstanceUid: string }[] }).studies[0]!.studyInstanceUid;
    const created = await call(researcher.cookie, 'POST', `/api/studies/${uid}/share-links`, { expiresInHours: 2 });
    const { link } = (await created.json()) as { link: { id: string; url: string } };
    const path = new URL(link.url).pathname.replace(/^\/share\//, '/api/share/');
    const opened = await call('', 'GET', path);
    expect(opened.status).toBe(302);
    expect(opened.headers.get('location')).toBe(`/viewer/viewer?StudyInstanceUIDs=${uid}`);
    const shareCookie = opened.headers.getSetCookie()[0]!.split(';')[0]!;
    expect(shareCookie).toMatch(/^pd_share=/);

    const studies = (await (await call(shareCookie, 'GET', '/dicom-web/studies')).json()) as unknown[];
    expect(studies).toHaveLength(1);
    const authorize = async (who: string, studyUid: string) => {
      const response = await backend.app.request('/api/dicomweb/authorize', { headers: { cookie: who, 'x-original-uri': `/dicom-web/studies/${studyUid}/metadata` } });
      return { status: response.status === 403 && response.headers.get('x-authz-reason') === 'not_found' ? 404 : response.status };
    };
    expect((await authorize(shareCookie, uid)).status).toBe(204);
    expect((await authorize(shareCookie, uid)).status).toBe(204);
    expect((await authorize(shareCookie, '1.2.3.4')).status).toBe(404);
    // Viewing is audited once per study and credential, not once per request.
    const views = (await (await call(admin, 'GET', `/api/admin/audit?action=study.view&target=${uid}`)).json()) as { entries: { details: { via: string } }[] };
    expect(views.entries.filter((e) => e.details.via === 'share')).toHaveLength(1);
    expect((await call(shareCookie, 'GET', '/api/studies')).status).toBe(401);
    const { body, contentType } = stowBody(dicomFiles('seg-dcmqi-ct3slice/seg').slice(0, 1));
    expect((await call(shareCookie, 'POST', '/dicom-web/studies', new Uint8Array(body), { 'content-type': contentType })).status).toBe(401);

    expect((await call(researcher.cookie, 'DELETE', `/api/share-links/${link.id}`)).status).toBe(204);
    expect((await authorize(shareCookie, uid)).status).toBe(401);
    expect((await call('', 'GET', path)).status).toBe(404);
    expect((await call('', 'GET', '/api/share/garbage')).status).toBe(404);

    const audit = (await (await call(admin, 'GET', `/api/admin/audit?action=share_link.&target=`)).json()) as { entries: { action: string; outcome: string }[] };
    expect(audit.entries.map((e) => `${e.action}:${e.outcome}`)).toEqual(expect.arrayContaining(['share_link.create:success', 'share_link.use:success', 'share_link.revoke:success', 'share_link.use:denied']));
  });

  it("lets an admin list and revoke anyone's session", async () => {
    const victim = await createUser(backend.deps, { email: 'watched@example.org', role: 'radiologist' });
    const { cookie } = await signIn(backend, victim.email, victim.password);
    const listed = (await (await call(admin, 'GET', `/api/admin/sessions?userId=${victim.id}`)).json()) as { sessions: { id: string; user: { email: string } }[] };
    expect(listed.sessions).toHaveLength(1);
    expect(listed.sessions[0]!.user.email).toBe('watched@example.org');
    expect((await call(admin, 'DELETE', `/api/admin/sessions/${listed.sessions[0]!.id}`)).status).toBe(204);
    expect((await call(cookie, 'GET', '/api/auth/session')).status).toBe(401);
  });

  it('shows working share-link URLs only to their creator and to whoever manages the sharing; links end with the creator\'s access', async () => {
    const uid = ((await (await call(researcher.cookie, 'GET', '/api/studies')).json()) as { studies: { studyInstanceUid: string }[] }).studies[0]!.studyInstanceUid;
    const labId = ensureGroup(backend.deps, 'Lab');
    const guestGroup = ensureGroup(backend.deps, 'Guests');
    const guest = await createUser(backend.deps, { email: 'guest.reader@example.org', role: 'radiologist', groups: ['Guests'] });
    const guestCookie = (await signIn(backend, guest.email, guest.password)).cookie;
    expect((await call(researcher.cookie, 'POST', `/api/studies/${uid}/shares`, { groupId: guestGroup })).status).toBe(204);
    const mine = ((await (await call(researcher.cookie, 'POST', `/api/studies/${uid}/share-links`, { expiresInHours: 1 })).json()) as { link: { id: string; url: string } }).link;
    const theirs = ((await (await call(guestCookie, 'POST', `/api/studies/${uid}/share-links`, { expiresInHours: 1 })).json()) as { link: { id: string; url: string } }).link;
    const seenByGuest = ((await (await call(guestCookie, 'GET', `/api/studies/${uid}/share-links`)).json()) as { links: { id: string }[] }).links.map((l) => l.id);
    expect(seenByGuest).toEqual([theirs.id]);
    const seenByOwner = ((await (await call(researcher.cookie, 'GET', `/api/studies/${uid}/share-links`)).json()) as { links: { id: string }[] }).links.map((l) => l.id);
    expect(seenByOwner).toEqual(expect.arrayContaining([mine.id, theirs.id]));

    // The guest group loses the study: the guest's link stops working at once.
    const open = async (url: string) => {
      const opened = await call('', 'GET', new URL(url).pathname.replace(/^\/share\//, '/api/share/'));
      const cookie = opened.headers.getSetCookie()[0]!.split(';')[0]!;
      return (await call(cookie, 'GET', '/dicom-web/studies')).status;
    };
    expect(await open(theirs.url)).toBe(200);
    expect((await call(researcher.cookie, 'DELETE', `/api/studies/${uid}/shares/${guestGroup}`)).status).toBe(204);
    expect(await open(theirs.url)).toBe(401);
    expect(await open(mine.url)).toBe(200);
    void labId;
  });

  it('filters the audit trail and downloads it as CSV', async () => {
    const logins = (await (await call(admin, 'GET', '/api/admin/audit?action=auth.login&actor=lab@')).json()) as { entries: { action: string; actorEmail: string }[]; total: number };
    expect(logins.total).toBeGreaterThan(0);
    expect(logins.entries.every((e) => e.action === 'auth.login' && e.actorEmail === 'lab@example.org')).toBe(true);
    const none = (await (await call(admin, 'GET', `/api/admin/audit?to=${encodeURIComponent('2000-01-01T00:00:00Z')}`)).json()) as { total: number };
    expect(none.total).toBe(0);
    expect((await call(admin, 'GET', '/api/admin/audit?from=yesterday')).status).toBe(400);
    const csv = await call(admin, 'GET', '/api/admin/audit.csv?action=study.');
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe('id,at,actorUserId,actorEmail,actorRole,ip,action,targetType,targetId,outcome,details,requestId');
    expect(lines.slice(1).every((l) => /,study\.\w+,/.test(l))).toBe(true);
    expect(lines.length).toBeGreaterThan(1);
  });
});
