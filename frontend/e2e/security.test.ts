// Web security through the gateway, on the stack the launcher starts (with a 2 MB upload
// limit), in Chromium: stored XSS from DICOM attributes and names on every page that shows
// them (dashboard and OHIF), CSRF on every state-changing route, session fixation and
// logout, cookie flags, security headers, and uploads over the limit refused by nginx.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dicomFiles, freshUid, rewriteDicom, stowBody } from '../../backend/test/dicom.js';
import { loadConfig } from '../../backend/src/config.js';
import { launchChromium, screenshotPath } from './browser.js';
import { launchStack, printedAdminPassword, stackEnvironment, stopStack, type StackProcess } from './stack-process.js';

const ADMIN_EMAIL = 'first.admin@e2e.test';
const ADMIN_PASSWORD = 'e2e-security-admin-secret-2026';
const XSS_IMG = '<img src=x onerror=window.__xss=1>';
const XSS_SCRIPT = '"><script>window.__xss=2</script>';
const XSS_GROUP = '<img src=x onerror=window.__xss=4>';
const XSS_NAME_B = '"><script>window.__xss++</script>';
const MODEL = 'ct_body_lungs_bone';

type SetCookie = { name: string; value: string; attributes: Record<string, string | true> };
function parseSetCookie(header: string): SetCookie {
  const [pair, ...rest] = header.split(';').map((part) => part.trim());
  const eq = pair!.indexOf('=');
  const attributes: Record<string, string | true> = {};
  for (const attribute of rest) {
    const at = attribute.indexOf('=');
    if (at < 0) attributes[attribute.toLowerCase()] = true;
    else attributes[attribute.slice(0, at).toLowerCase()] = attribute.slice(at + 1);
  }
  return { name: pair!.slice(0, eq), value: pair!.slice(eq + 1), attributes };
}

describe('web security through the gateway (stack with PD_MAX_UPLOAD_SIZE=2m)', () => {
  let env: Record<string, string>;
  let stack: StackProcess;
  let browser: Browser;
  let admin: BrowserContext;
  let xssGroupId = '';
  let studyA = { uid: '', patientKey: '', seriesUid: '' };
  let studyB = { uid: '', patientKey: '' };
  let importId = '';
  let resultId = '';

  const cookieHeader = async (context: BrowserContext) => (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
  const post = (context: BrowserContext, path: string, data: unknown) => context.request.post(`${stack.url}${path}`, { headers: { origin: stack.url }, data });

  beforeAll(async () => {
    env = await stackEnvironment();
    env.PD_MAX_UPLOAD_SIZE = '2m';
    stack = await launchStack(env);
    browser = await launchChromium();
    admin = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const generated = printedAdminPassword(stack.output())!;
    expect((await post(admin, '/api/auth/login', { email: ADMIN_EMAIL, password: generated })).status()).toBe(200);
    expect((await post(admin, '/api/auth/change-password', { currentPassword: generated, newPassword: ADMIN_PASSWORD })).status()).toBe(204);
  });

  afterAll(async () => {
    await browser?.close();
    await stopStack(stack, env);
  });

  describe('stored XSS: hostile DICOM attributes and names are shown as text, never run', () => {
    beforeAll(async () => {
      // A group whose name is markup, the admin in it.
      const group = await post(admin, '/api/admin/groups', { name: XSS_GROUP });
      expect(group.status(), await group.text()).toBe(201);
      xssGroupId = ((await group.json()) as { group: { id: string } }).group.id;
      const me = (await (await admin.request.get(`${stack.url}/api/auth/session`)).json()) as { user: { id: string; groups: { id: string }[] } };
      const patched = await admin.request.patch(`${stack.url}/api/admin/users/${me.user.id}`, { headers: { origin: stack.url }, data: { groupIds: [...me.user.groups.map((g) => g.id), xssGroupId] } });
      expect(patched.status(), await patched.text()).toBe(200);

      // Study A: a real 3-slice CT whose patient name and descriptions are markup, imported through /api/imports.
      const uid = freshUid();
      const series = freshUid();
      const files = dicomFiles('seg-dcmqi-ct3slice/ct').map((data, i) => ({
        name: `xss/${i}.dcm`,
        data: rewriteDicom(data, { StudyInstanceUID: uid, SeriesInstanceUID: series, SOPInstanceUID: freshUid(), PatientName: XSS_IMG, PatientID: `XSS-"'<>&-A`, StudyDescription: XSS_SCRIPT, SeriesDescription: XSS_IMG }),
      }));
      const form = new FormData();
      for (const f of files) form.append('file', new Blob([new Uint8Array(f.data)]), f.name);
      const imported = await admin.request.post(`${stack.url}/api/imports?groupId=${xssGroupId}`, { headers: { origin: stack.url }, multipart: form, timeout: 120_000 });
      expect(imported.status(), await imported.text()).toBe(201);
      const job = ((await imported.json()) as { import: { id: string; studies: { studyInstanceUid: string; patientKey: string }[] } }).import;
      importId = job.id;
      studyA = { uid, patientKey: job.studies[0]!.patientKey, seriesUid: series };

      // Study B: a small MR through STOW-RS, its patient name a script tag.
      const uidB = freshUid();
      const { body, contentType } = stowBody(dicomFiles('hierarchy-pydicom-dicomdirtests/98892001').slice(0, 2).map((d) => rewriteDicom(d, { StudyInstanceUID: uidB, SOPInstanceUID: freshUid(), PatientName: XSS_NAME_B, PatientID: 'XSS-B', StudyDescription: XSS_IMG })));
      const stored = await admin.request.post(`${stack.url}/dicom-web/studies`, { headers: { origin: stack.url, 'content-type': contentType, 'x-owner-group': xssGroupId }, data: body });
      expect(stored.status(), await stored.text()).toBe(200);
      const detail = (await (await admin.request.get(`${stack.url}/api/studies/${uidB}`)).json()) as { study: { patientKey: string } };
      studyB = { uid: uidB, patientKey: detail.study.patientKey };

      // A segmentation of study A, so the result and report pages show the names too.
      const submitted = await post(admin, '/api/inference/jobs', { seriesInstanceUids: [series], model: MODEL });
      expect(submitted.status(), await submitted.text()).toBe(202);
      const jobId = ((await submitted.json()) as { job: { id: string } }).job.id;
      for (let i = 0; i < 240 && !resultId; i++) {
        const state = ((await (await admin.request.get(`${stack.url}/api/inference/jobs/${jobId}`)).json()) as { job: { status: string; resultId: string | null; error: string | null } }).job;
        if (state.status === 'failed') throw new Error(`segmentation failed: ${state.error}`);
        if (state.resultId) resultId = state.resultId;
        else await new Promise((r) => setTimeout(r, 500));
      }
      expect(resultId).not.toBe('');
    });

    /** Opens a page, waits for `ready`, and checks nothing injected ran, was blocked by CSP, or became an element. */
    async function visit(page: Page, path: string, ready: () => Promise<unknown>, literal: string[], shot: string): Promise<void> {
      const cspReports: string[] = [];
      page.on('console', (message) => {
        if (/Content Security Policy|Refused to (execute|load)/i.test(message.text())) cspReports.push(message.text());
      });
      await page.goto(`${stack.url}${path}`);
      await ready();
      await page.waitForTimeout(500);
      expect(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss), `window.__xss on ${path}`).toBeUndefined();
      expect(await page.locator('img[src="x"], svg[onload], [onerror]').count(), `injected elements on ${path}`).toBe(0);
      expect(await page.locator('body script').count(), `scripts in the body of ${path}`).toBe(0);
      const text = (await page.locator('body').textContent()) ?? '';
      for (const expected of literal) expect(text, `"${expected}" shown literally on ${path}`).toContain(expected);
      expect(cspReports, `CSP had to block something on ${path}`).toEqual([]);
      await page.screenshot({ path: screenshotPath(shot), fullPage: true });
    }

    it('keeps the dashboard pages inert: patients list, both patient pages, the import job, studies, the segmentation result and its report', async () => {
      const page = await admin.newPage();
      try {
        // PatientName is shown up to its first "=" (the DICOM ideographic separator), hence "<img src".
        await visit(page, '/patients', () => page.getByTestId('patients-table').waitFor(), ['<img src', XSS_NAME_B, XSS_GROUP], '30-xss-patients');
        await visit(page, `/patients/${encodeURIComponent(studyA.patientKey)}`, () => page.getByTestId('series-card').first().waitFor(), ['<img src', XSS_SCRIPT, XSS_IMG, `XSS-"'<>&-A`, XSS_GROUP], '31-xss-patient-a');
        await visit(page, `/patients/${encodeURIComponent(studyB.patientKey)}`, () => page.getByTestId('study-card').first().waitFor(), [XSS_NAME_B, XSS_IMG], '32-xss-patient-b');
        await visit(page, `/imports/${importId}`, () => page.getByTestId('import-studies').waitFor(), ['<img src', XSS_SCRIPT], '33-xss-import-job');
        await visit(page, '/studies', () => page.getByTestId('studies-table').waitFor(), [XSS_SCRIPT, XSS_NAME_B], '34-xss-studies');
        await visit(page, `/segmentations/${resultId}`, () => page.getByTestId('segmentation-facts').waitFor(), ['<img src', XSS_SCRIPT], '35-xss-segmentation');
        await visit(page, `/segmentations/${resultId}/report`, () => page.getByTestId('report-facts').waitFor(), ['<img src', XSS_SCRIPT], '36-xss-report');
      } finally {
        await page.close();
      }
    });

    it("keeps OHIF inert, its study list and a study's viewer (its page allows inline scripts, so escaping is all that protects it)", async () => {
      const page = await admin.newPage();
      try {
        const cspReports: string[] = [];
        page.on('console', (message) => {
          if (/Content Security Policy/i.test(message.text())) cspReports.push(message.text());
        });
        await page.goto(`${stack.url}/viewer/`);
        await page.getByText('Study List').waitFor({ timeout: 60_000 });
        await page.getByText('XSS-B').first().waitFor({ timeout: 60_000 });
        await page.waitForTimeout(1_000);
        expect(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss)).toBeUndefined();
        expect(await page.locator('img[src="x"]').count()).toBe(0);
        // OHIF's list shows names and MRNs (not our descriptions): both as text.
        const list = (await page.locator('body').innerText()) ?? '';
        for (const literal of ['<img src', XSS_NAME_B, `XSS-"'<>&-A`]) expect(list).toContain(literal);
        await page.screenshot({ path: screenshotPath('37-xss-ohif-study-list') });

        // The viewer of study A: series descriptions in the study browser.
        await page.goto(`${stack.url}/viewer/viewer?StudyInstanceUIDs=${studyA.uid}`);
        await page.locator('canvas').first().waitFor({ timeout: 60_000 });
        await page.getByText(XSS_IMG).first().waitFor({ timeout: 30_000 });
        await page.waitForTimeout(1_500);
        expect(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss)).toBeUndefined();
        expect(await page.locator('img[src="x"]').count()).toBe(0);
        expect(cspReports).toEqual([]);
        await page.screenshot({ path: screenshotPath('38-xss-ohif-viewer') });
      } finally {
        await page.close();
      }
    });
  });

  describe('CSRF: a state change with the session cookie from another origin, or with no Origin, is refused', () => {
    it('refuses every POST/PUT/PATCH/DELETE of /api/openapi.json and STOW-RS with 403 through nginx, and changes nothing', async () => {
      const cookie = await cookieHeader(admin);
      const doc = (await (await fetch(`${stack.url}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
      const fill = (path: string) =>
        path.replace(/\{([^}]+)\}/g, (_, name: string) => (name === 'uid' ? studyA.uid || '1.2.3.4' : name === 'token' ? 'some-token-0123456789' : name === 'segment' ? '1' : name === 'part' ? 'image' : name === 'groupId' ? xssGroupId || '00000000-0000-4000-8000-000000000000' : '00000000-0000-4000-8000-000000000000'));
      const routes = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).filter((m) => ['post', 'put', 'patch', 'delete'].includes(m)).map((m) => ({ method: m.toUpperCase(), path: fill(path) })));
      routes.push({ method: 'POST', path: '/dicom-web/studies' }, { method: 'POST', path: `/dicom-web/studies/${studyA.uid}` });
      expect(routes.length).toBeGreaterThan(30);
      const before = (await (await admin.request.get(`${stack.url}/api/admin/audit?limit=1`)).json()) as { total?: number; entries?: unknown[] };
      const refused: Record<string, string> = {};
      for (const route of routes) {
        for (const origin of ['https://evil.example', 'null', `${stack.url}.evil.example`, `http://127.0.0.1:${env.PD_HTTP_PORT}`, undefined]) {
          const headers: Record<string, string> = { cookie, 'content-type': route.path.startsWith('/dicom-web') ? 'multipart/related; type="application/dicom"; boundary=x' : 'application/json' };
          if (origin) headers.origin = origin;
          else headers.referer = 'https://evil.example/page';
          const response = await fetch(`${stack.url}${route.path}`, { method: route.method, headers, body: route.method === 'DELETE' ? undefined : route.path.startsWith('/dicom-web') ? '--x--\r\n' : '{}', redirect: 'manual' });
          const body = (await response.json().catch(() => null)) as { error?: { code?: string } } | null;
          refused[`${route.method} ${route.path} origin=${origin ?? '(none)'}`] = `${response.status} ${body?.error?.code ?? ''}`;
        }
      }
      const notRefused = Object.entries(refused).filter(([, outcome]) => outcome !== '403 cross_origin_refused');
      expect(notRefused).toEqual([]);
      // The same-origin control: the admin's own page may change things (here: a harmless group).
      const control = await fetch(`${stack.url}/api/admin/groups`, { method: 'POST', headers: { cookie, origin: stack.url, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'CSRF control group' }) });
      expect(control.status).toBe(201);
      // No CORS: a foreign origin gets no Access-Control-Allow-Origin, preflights are not granted.
      const preflight = await fetch(`${stack.url}/api/admin/groups`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
      const read = await fetch(`${stack.url}/api/auth/session`, { headers: { cookie, origin: 'https://evil.example' } });
      expect(read.headers.get('access-control-allow-origin')).toBeNull();
      void before;
    });
  });

  describe('sessions: fixation, logout, cookie flags', () => {
    it('issues new cookies at sign-in whatever the browser held before: planted values are replaced, a planted live session of another user is not taken over', async () => {
      // An attacker's own valid session...
      const attacker = await browser.newContext();
      const created = await post(admin, '/api/admin/users', { email: 'attacker@e2e.test', displayName: 'Attacker', role: 'researcher', groupIds: [] });
      const attackerPassword = ((await created.json()) as { password: string }).password;
      expect((await post(attacker, '/api/auth/login', { email: 'attacker@e2e.test', password: attackerPassword })).status()).toBe(200);
      const planted = await attacker.cookies();
      const attackerCookie = planted.map((c) => `${c.name}=${c.value}`).join('; ');
      await attacker.close();

      // ...planted in the victim's browser, who then signs in.
      const victim = await browser.newContext();
      try {
        await victim.addCookies(planted);
        const login = await post(victim, '/api/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
        expect(login.status()).toBe(200);
        const issued = login.headersArray().filter((h) => h.name.toLowerCase() === 'set-cookie').map((h) => parseSetCookie(h.value));
        expect(issued.map((c) => c.name).sort()).toEqual(['pd_access', 'pd_refresh']);
        const after = await victim.cookies();
        for (const name of ['pd_access', 'pd_refresh']) {
          expect(after.find((c) => c.name === name)!.value, name).not.toBe(planted.find((c) => c.name === name)!.value);
          expect(after.find((c) => c.name === name)!.value, name).toBe(issued.find((c) => c.name === name)!.value);
        }
        expect(((await (await victim.request.get(`${stack.url}/api/auth/session`)).json()) as { user: { email: string } }).user.email).toBe(ADMIN_EMAIL);
        // The attacker's cookie is still only the attacker's session: the victim's sign-in did not lift it.
        const theirs = (await (await fetch(`${stack.url}/api/auth/session`, { headers: { cookie: attackerCookie } })).json()) as { user: { email: string; role: string } };
        expect(theirs.user).toMatchObject({ email: 'attacker@e2e.test', role: 'researcher' });
      } finally {
        await victim.close();
      }
    });

    it('replaces junk cookies at a sign-in through the login page, keeps them from page scripts, and makes them worthless at sign-out', async () => {
      const victim = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      try {
        const host = new URL(stack.url).hostname;
        await victim.addCookies([
          { name: 'pd_access', value: 'planted-access-value', domain: host, path: '/', httpOnly: false, secure: false, sameSite: 'Lax' },
          { name: 'pd_refresh', value: 'planted-refresh-value', domain: host, path: '/api/auth', httpOnly: false, secure: false, sameSite: 'Strict' },
        ]);
        const page = await victim.newPage();
        await page.goto(`${stack.url}/login`);
        await page.getByTestId('login-form').waitFor();
        await page.getByLabel(/e-?mail/i).fill(ADMIN_EMAIL);
        await page.getByLabel(/password/i).fill(ADMIN_PASSWORD);
        await page.getByRole('button', { name: /sign in/i }).click();
        await page.waitForURL((url) => url.pathname !== '/login');
        await page.getByTestId('patients-table').waitFor();
        const after = await victim.cookies();
        expect(after.find((c) => c.name === 'pd_access')!.value).not.toBe('planted-access-value');
        expect(after.find((c) => c.name === 'pd_refresh')!.value).not.toBe('planted-refresh-value');
        for (const c of after.filter((c) => c.name.startsWith('pd_'))) expect(c.httpOnly, c.name).toBe(true);
        // JavaScript on the page cannot read the session cookies.
        expect(await page.evaluate(() => document.cookie)).not.toMatch(/pd_access|pd_refresh/);

        // Signing out ends the session: the cookies held at that moment no longer work anywhere.
        const held = await cookieHeader(victim);
        const wado = `${stack.url}/dicom-web/studies/${studyB.uid}/metadata`;
        expect((await fetch(wado, { headers: { cookie: held } })).status).toBe(200); // nginx caches this decision
        expect((await victim.request.post(`${stack.url}/api/auth/logout`, { headers: { origin: stack.url } })).status()).toBe(204);
        const loggedOutAt = Date.now();
        expect((await fetch(`${stack.url}/api/auth/session`, { headers: { cookie: held } })).status).toBe(401);
        expect((await fetch(`${stack.url}/api/auth/refresh`, { method: 'POST', headers: { cookie: held, origin: stack.url } })).status).toBe(401);
        expect((await fetch(`${stack.url}/dicom-web/studies`, { headers: { cookie: held } })).status).toBe(401);
        expect((await fetch(`${stack.url}/api/patients`, { headers: { cookie: held } })).status).toBe(401);
        // The viewer page (auth_request /api/auth/check) sends the signed-out cookie to the login page.
        const viewer = await fetch(`${stack.url}/viewer/index.html`, { headers: { cookie: held }, redirect: 'manual' });
        expect(viewer.status).toBe(302);
        expect(viewer.headers.get('location')).toMatch(/\/login\?next=\/viewer\/index\.html$/);
        // WADO-RS decisions are cached per cookie and study for PD_DICOMWEB_AUTHZ_CACHE_SECONDS (10 s, documented):
        // a replay is refused once that has passed.
        const early = (await fetch(wado, { headers: { cookie: held } })).status;
        await new Promise((r) => setTimeout(r, Math.max(0, 11_000 - (Date.now() - loggedOutAt))));
        expect((await fetch(wado, { headers: { cookie: held } })).status).toBe(401);
        console.info(`WADO-RS with the signed-out cookie: ${early} right after sign-out (cached decision), 401 after the cache period`);
      } finally {
        await victim.close();
      }
    });

    it('sets HttpOnly, SameSite and Path on both cookies; Secure only when the public URL is https (here http)', async () => {
      const response = await fetch(`${stack.url}/api/auth/login`, { method: 'POST', headers: { origin: stack.url, 'content-type': 'application/json' }, body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }) });
      expect(response.status).toBe(200);
      const cookies = Object.fromEntries(response.headers.getSetCookie().map(parseSetCookie).map((c) => [c.name, c]));
      expect(cookies.pd_access!.attributes).toMatchObject({ httponly: true, samesite: 'Lax', path: '/' });
      expect(cookies.pd_refresh!.attributes).toMatchObject({ httponly: true, samesite: 'Strict', path: '/api/auth' });
      for (const c of [cookies.pd_access!, cookies.pd_refresh!]) {
        expect(c.attributes.secure, `${c.name} on http`).toBeUndefined();
        expect(Number(c.attributes['max-age'])).toBeGreaterThan(0);
        expect(c.attributes.domain).toBeUndefined(); // host-only
      }
      expect(response.headers.get('cache-control')).toContain('no-store');
      // The same backend behind an https public URL marks them Secure.
      expect(loadConfig({ PD_PUBLIC_URL: 'https://pacs.example.org', PD_JWT_SECRET: 'x'.repeat(40) }).secureCookies).toBe(true);
      expect(loadConfig({ PD_PUBLIC_URL: stack.url, PD_JWT_SECRET: 'x'.repeat(40) }).secureCookies).toBe(false);
    });
  });

  describe('security headers', () => {
    it('sends CSP with frame-ancestors, nosniff, Referrer-Policy and X-Frame-Options on pages, API, viewer and DICOMweb, errors included', async () => {
      const cookie = await cookieHeader(admin);
      const targets: { path: string; cookie?: string; expect: number }[] = [
        { path: '/', expect: 200 },
        { path: '/api/health', expect: 200 },
        { path: '/viewer/', cookie, expect: 200 },
        { path: '/dicom-web/studies', expect: 401 },
        { path: '/dicom-web/studies', cookie, expect: 200 },
        { path: `/dicom-web/studies/${studyB.uid}/metadata`, cookie, expect: 200 },
        { path: '/api/no-such-route', expect: 404 },
        { path: '/dicom-web/studies/1.2.3;x/metadata', cookie, expect: 400 },
      ];
      const seen: Record<string, Record<string, string | null>> = {};
      for (const target of targets) {
        const response = await fetch(`${stack.url}${target.path}`, { headers: target.cookie ? { cookie: target.cookie } : {} });
        await response.arrayBuffer();
        const h = (name: string) => response.headers.get(name);
        seen[target.path] = { status: String(response.status), csp: h('content-security-policy'), nosniff: h('x-content-type-options'), referrer: h('referrer-policy'), frame: h('x-frame-options'), server: h('server') };
        expect(response.status, target.path).toBe(target.expect);
        expect(h('content-security-policy'), target.path).toMatch(/frame-ancestors 'self'/);
        expect(h('content-security-policy'), target.path).toMatch(/object-src 'none'/);
        expect(h('x-content-type-options'), target.path).toBe('nosniff');
        expect(h('referrer-policy'), target.path).toBe('no-referrer');
        expect(h('x-frame-options'), target.path).toBe('SAMEORIGIN');
        expect(h('server') ?? '', target.path).not.toMatch(/\d/); // no version
        if (!target.path.startsWith('/viewer/')) expect(h('content-security-policy'), target.path).toMatch(/script-src 'self';/);
      }
      console.info(`security headers: ${JSON.stringify(seen, null, 2)}`);
    });
  });

  describe('uploads over PD_MAX_UPLOAD_SIZE (2m) refused by nginx', () => {
    const threeMb = () => Buffer.alloc(3 * 1024 * 1024, 0x41);
    const backendLog = () => readFileSync(join(env.PD_RUNTIME_DIR!, 'logs', 'backend.log'), 'utf8');
    const importsTotal = async () => ((await (await admin.request.get(`${stack.url}/api/imports?limit=1`)).json()) as { total: number }).total;

    it('answers a 3 MB import and a 3 MB STOW with 413 JSON from nginx, and the backend never sees them', async () => {
      const cookie = await cookieHeader(admin);
      const before = await importsTotal();
      const boundary = 'limitboundary';
      const multipart = Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.dcm"\r\n\r\n`), threeMb(), Buffer.from(`\r\n--${boundary}--\r\n`)]);
      const related = Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), threeMb(), Buffer.from(`\r\n--${boundary}--\r\n`)]);
      const attempts = [
        { path: `/api/imports?groupId=${xssGroupId}`, body: multipart, type: `multipart/form-data; boundary=${boundary}` },
        { path: `/api/imports/00000000-0000-4000-8000-000000000000/files`, body: multipart, type: `multipart/form-data; boundary=${boundary}` },
        { path: '/dicom-web/studies', body: related, type: `multipart/related; type="application/dicom"; boundary=${boundary}` },
      ];
      for (const attempt of attempts) {
        const response = await fetch(`${stack.url}${attempt.path}`, { method: 'POST', headers: { cookie, origin: stack.url, 'content-type': attempt.type }, body: new Uint8Array(attempt.body) });
        expect(response.status, attempt.path).toBe(413);
        expect(response.headers.get('content-type'), attempt.path).toContain('application/json');
        const body = (await response.json()) as { error: { code: string; message: string; requestId: string } };
        expect(body.error.code).toBe('payload_too_large');
        expect(body.error.message).toContain('2m for imports and /dicom-web');
        expect(body.error.message).toContain('PD_MAX_UPLOAD_SIZE');
        // nginx's request id never reached the backend's log: the backend was not asked.
        expect(response.headers.get('x-request-id')).toBe(body.error.requestId);
        expect(backendLog()).not.toContain(body.error.requestId);
      }
      expect(await importsTotal()).toBe(before);
      // Just under the limit is accepted (the 3-slice CT above was 1.6 MB).
    });

    // BUG-S1 (fixed): the location for /dicom-web/studies/{uid}... declares its own error_page
    // lines (401, 403, 418), so nginx ignored the server-level "error_page 413 =
    // @payload_too_large" there and answered a too-big STOW-RS to /dicom-web/studies/{uid} with
    // its default HTML 413 page. The location now names the JSON page itself; a chunked body
    // (found too big only after the 418 detour to @dicomweb_backend) gets it too.
    it('answers a 3 MB STOW-RS to /dicom-web/studies/{uid} with the JSON 413 as well, with or without Content-Length (BUG-S1)', async () => {
      // A real study UID, so the request meets the per-study location (not /dicom-web/studies/).
      expect(studyA.uid).toMatch(/^[0-9.]+$/);
      const cookie = await cookieHeader(admin);
      const boundary = 'limitboundary';
      const related = Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), threeMb(), Buffer.from(`\r\n--${boundary}--\r\n`)]);
      const chunked = () => {
        const chunks = Array.from({ length: 48 }, (_, i) => related.subarray(i * 64 * 1024, (i + 1) * 64 * 1024)).concat([related.subarray(48 * 64 * 1024)]);
        return new ReadableStream<Uint8Array>({
          pull(controller) {
            const next = chunks.shift();
            if (next) controller.enqueue(new Uint8Array(next));
            else controller.close();
          },
        });
      };
      for (const how of ['content-length', 'chunked'] as const) {
        const body = how === 'chunked' ? chunked() : new Uint8Array(related);
        const response = await fetch(`${stack.url}/dicom-web/studies/${studyA.uid}`, { method: 'POST', headers: { cookie, origin: stack.url, 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` }, body, duplex: 'half' } as RequestInit);
        expect(response.status, how).toBe(413);
        expect(response.headers.get('content-type'), how).toContain('application/json');
        const answer = (await response.json()) as { error: { code: string; message: string; requestId: string } };
        expect(answer.error.code, how).toBe('payload_too_large');
        expect(answer.error.message, how).toContain('PD_MAX_UPLOAD_SIZE');
        expect(response.headers.get('x-request-id'), how).toBe(answer.error.requestId);
        // Content-Length over the limit: refused before the backend is asked.
        if (how === 'content-length') expect(backendLog()).not.toContain(answer.error.requestId);
      }
    });

    it('refuses a 3 MB import sent without Content-Length (chunked) as well, and leaves no import running', async () => {
      const cookie = await cookieHeader(admin);
      const boundary = 'chunkboundary';
      const chunks = [Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.dcm"\r\n\r\n`), ...Array.from({ length: 48 }, () => Buffer.alloc(64 * 1024, 0x42)), Buffer.from(`\r\n--${boundary}--\r\n`)];
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          const next = chunks.shift();
          if (next) controller.enqueue(new Uint8Array(next));
          else controller.close();
        },
      });
      let status = 0;
      try {
        const response = await fetch(`${stack.url}/api/imports?groupId=${xssGroupId}`, { method: 'POST', headers: { cookie, origin: stack.url, 'content-type': `multipart/form-data; boundary=${boundary}` }, body: stream, duplex: 'half' } as RequestInit);
        status = response.status;
        await response.arrayBuffer();
      } catch {
        status = -1; // nginx may close the connection while the body is still being sent
      }
      expect([413, -1]).toContain(status);
      await new Promise((r) => setTimeout(r, 1_000));
      const imports = ((await (await admin.request.get(`${stack.url}/api/imports?limit=5`)).json()) as { imports: { status: string; counters: { instancesStored: number } }[] }).imports;
      expect(imports.filter((i) => i.status === 'open' || i.status === 'processing')).toEqual([]);
      console.info(`chunked 3 MB import: ${status}; newest imports: ${JSON.stringify(imports.slice(0, 2).map((i) => i.status))}`);
    });

    it('answers a 2 MB JSON body to /api/auth/login (over the backend\'s 64 KiB limit for /api/auth, under nginx\'s 25m) with a JSON 413, not a 502', async () => {
      const response = await fetch(`${stack.url}/api/auth/login`, { method: 'POST', headers: { origin: stack.url, 'content-type': 'application/json' }, body: JSON.stringify({ email: ADMIN_EMAIL, password: 'x'.repeat(2 * 1024 * 1024) }) });
      const text = await response.text();
      console.info(`2 MB login body through nginx: ${response.status} ${text.slice(0, 200)}`);
      expect(response.status).toBe(413);
      expect(JSON.parse(text)).toMatchObject({ error: { code: 'payload_too_large' } });
    });
  });
});
