// Two users in different groups: each sees only their own study, in the API and in OHIF,
// and the other's study URL shows no images.
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dicomFiles, stowBody } from '../../backend/test/dicom.js';
import { launchChromium, screenshotPath } from './browser.js';
import { launchStack, printedAdminPassword, stackEnvironment, stopStack, type StackProcess } from './stack-process.js';

// `patient` is the PatientID, which OHIF's list shows as MRN verbatim.
type Person = { email: string; password: string; context: BrowserContext; studyUid: string; patient: string; groupId: string };

describe('tenancy end to end: two groups, two users, one gateway', () => {
  let env: Record<string, string>;
  let stack: StackProcess;
  let browser: Browser;
  const people: Record<'a' | 'b', Person> = {} as never;

  beforeAll(async () => {
    env = await stackEnvironment();
    stack = await launchStack(env);
    browser = await launchChromium();
    const adminContext = await browser.newContext();
    const origin = { origin: stack.url };
    const post = (path: string, data: unknown) => adminContext.request.post(`${stack.url}${path}`, { headers: origin, data });
    const generated = printedAdminPassword(stack.output())!;
    expect((await post('/api/auth/login', { email: 'first.admin@e2e.test', password: generated })).status()).toBe(200);
    expect((await post('/api/auth/change-password', { currentPassword: generated, newPassword: 'tenancy-admin-secret-01' })).status()).toBe(204);

    const datasets = { a: { folder: 'seg-dcmqi-ct3slice/ct', patient: '' }, b: { folder: 'hierarchy-pydicom-dicomdirtests/98892001', patient: '' } };
    for (const key of ['a', 'b'] as const) {
      const group = (await (await post('/api/admin/groups', { name: `Hospital ${key.toUpperCase()}` })).json()) as { group: { id: string } };
      const created = (await (await post('/api/admin/users', { email: `user.${key}@e2e.test`, displayName: `User ${key}`, role: 'researcher', groupIds: [group.group.id] })).json()) as { password: string };
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      const login = await context.request.post(`${stack.url}/api/auth/login`, { headers: origin, data: { email: `user.${key}@e2e.test`, password: created.password } });
      expect(login.status()).toBe(200);
      const password = `tenancy-user-${key}-secret-99`;
      expect((await context.request.post(`${stack.url}/api/auth/change-password`, { headers: origin, data: { currentPassword: created.password, newPassword: password } })).status()).toBe(204);
      const { body, contentType } = stowBody(dicomFiles(datasets[key].folder));
      expect((await context.request.post(`${stack.url}/dicom-web/studies`, { headers: { ...origin, 'content-type': contentType }, data: body })).status()).toBe(200);
      const studies = (await (await context.request.get(`${stack.url}/api/studies`)).json()) as { studies: { studyInstanceUid: string; patientId: string }[] };
      expect(studies.studies).toHaveLength(1);
      people[key] = { email: `user.${key}@e2e.test`, password, context, studyUid: studies.studies[0]!.studyInstanceUid, patient: studies.studies[0]!.patientId, groupId: group.group.id };
    }
    await adminContext.close();
  });

  afterAll(async () => {
    await browser?.close();
    await stopStack(stack, env);
  });

  it('answers each user QIDO and the studies API with their own study only', async () => {
    for (const [me, other] of [
      ['a', 'b'],
      ['b', 'a'],
    ] as const) {
      const qido = (await (await people[me].context.request.get(`${stack.url}/dicom-web/studies`)).json()) as Record<string, { Value: string[] }>[];
      expect(qido.map((s) => s['0020000D']!.Value[0])).toEqual([people[me].studyUid]);
      const metadata = await people[me].context.request.get(`${stack.url}/dicom-web/studies/${people[other].studyUid}/metadata`);
      expect(metadata.status()).toBe(404);
      expect(await metadata.json()).toMatchObject({ error: { code: 'not_found' } });
      expect((await people[me].context.request.get(`${stack.url}/dicom-web/studies/${people[me].studyUid}/metadata`)).status()).toBe(200);
    }
  });

  // Study searches are scoped by the backend and answered by Orthanc straight through nginx;
  // each way out of that path (nothing visible, too many studies for one query) is taken here.
  it('scopes QIDO study searches through the gateway: no widening by UID, [] when nothing is visible, the backend filter past 150 studies', async () => {
    const uidsOf = async (context: BrowserContext, query = '') => {
      const response = await context.request.get(`${stack.url}/dicom-web/studies${query}`, { headers: { accept: 'application/dicom+json' } });
      expect(response.status(), query).toBe(200);
      return ((await response.json()) as Record<string, { Value: string[] }>[]).map((s) => s['0020000D']!.Value[0]);
    };
    const a = people.a.context;
    // Asking for the other group's study by UID, in either spelling, or next to one's own, gives only one's own.
    expect(await uidsOf(a, `?StudyInstanceUID=${people.b.studyUid}`)).toEqual([]);
    expect(await uidsOf(a, `?0020000D=${people.b.studyUid}`)).toEqual([]);
    expect(await uidsOf(a, `?StudyInstanceUID=${people.b.studyUid},${people.a.studyUid}`)).toEqual([people.a.studyUid]);
    expect(await uidsOf(a, `?StudyInstanceUID=${people.a.studyUid}&StudyInstanceUID=${people.b.studyUid}`)).not.toContain(people.b.studyUid);
    // Nothing visible: nginx answers [] itself.
    const empty = await a.request.get(`${stack.url}/dicom-web/studies?PatientID=no-such-patient-anywhere&StudyInstanceUID=1.2.3.999`);
    expect(empty.status()).toBe(200);
    expect(empty.headers()['content-type']).toContain('application/dicom+json');
    expect(await empty.json()).toEqual([]);
    // More visible studies than fit in one query: the backend filters Orthanc's whole answer.
    const db = new Database(join(env.PD_RUNTIME_DIR!, 'data', 'preview-dicom.sqlite'));
    const insert = db.prepare("INSERT INTO studies (study_instance_uid, owner_group_id, orthanc_id, created_at, source) VALUES (?, ?, ?, ?, 'stow')");
    const fakes = Array.from({ length: 160 }, (_, i) => `2.25.4242${String(i).padStart(4, '0')}`);
    db.transaction(() => fakes.forEach((uid) => insert.run(uid, people.a.groupId, `e2e-fake-${uid}`, Date.now())))();
    try {
      expect(await uidsOf(a)).toEqual([people.a.studyUid]);
      expect(await uidsOf(a, '?limit=1&offset=0')).toEqual([people.a.studyUid]);
      expect(await uidsOf(a, '?limit=1&offset=1')).toEqual([]);
      expect(await uidsOf(people.b.context)).toEqual([people.b.studyUid]);
    } finally {
      db.prepare(`DELETE FROM studies WHERE study_instance_uid IN (${fakes.map(() => '?').join(',')})`).run(...fakes);
      db.close();
    }
    expect(await uidsOf(a)).toEqual([people.a.studyUid]);
  });

  it('authorizes every WADO-RS path shape OHIF uses through the gateway: own study served, the other answers 404', async () => {
    const a = people.a.context.request;
    const series = (await (await a.get(`${stack.url}/dicom-web/studies/${people.a.studyUid}/series`)).json()) as Record<string, { Value: string[] }>[];
    const seriesUid = series[0]!['0020000E']!.Value[0]!;
    const instances = (await (await a.get(`${stack.url}/dicom-web/studies/${people.a.studyUid}/series/${seriesUid}/instances`)).json()) as Record<string, { Value: string[] }>[];
    const sopUid = instances[0]!['00080018']!.Value[0]!;
    const shapes = (study: string) => [
      `/dicom-web/studies/${study}/metadata`,
      `/dicom-web/studies/${study}/series`,
      `/dicom-web/studies/${study}/series/${seriesUid}/metadata`,
      `/dicom-web/studies/${study}/series/${seriesUid}/instances`,
      `/dicom-web/studies/${study}/series/${seriesUid}/instances/${sopUid}/frames/1`,
      `/dicom-web/studies/${study}/series/${seriesUid}/instances/${sopUid}/rendered`,
      `/dicom-web/studies/${study}/series/${seriesUid}/rendered`,
    ];
    const accept = { accept: 'multipart/related; type=application/octet-stream; transfer-syntax=*' };
    for (const path of shapes(people.a.studyUid)) {
      const response = await a.get(`${stack.url}${path}`, { headers: path.includes('/frames/') ? accept : {} });
      expect(response.status(), path).toBe(200);
      const foreign = await people.b.context.request.get(`${stack.url}${path}`, { headers: path.includes('/frames/') ? accept : {} });
      expect(foreign.status(), path).toBe(404);
    }
    // Raw paths that nginx would normalise to the other study must not slip past the check.
    const cookie = (await people.b.context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const rawGet = (path: string) =>
      new Promise<number>((resolveStatus, reject) => {
        const request = httpRequest({ host: '127.0.0.1', port: Number(env.PD_HTTP_PORT), path, headers: { cookie, host: `localhost:${env.PD_HTTP_PORT}` } }, (response) => {
          response.resume();
          resolveStatus(response.statusCode ?? 0);
        });
        request.on('error', reject);
        request.end();
      });
    const own = people.b.studyUid;
    const target = people.a.studyUid;
    for (const sneaky of [
      `/dicom-web/studies/${own}/../${target}/metadata`,
      `/dicom-web/studies/${own}/%2e%2e/${target}/metadata`,
      `/dicom-web/studies/${own}%2F..%2F${target}/metadata`,
      `/dicom-web/studies/${own}/..;/${target}/metadata`,
      `/dicom-web//studies/${target}/metadata`,
      `/dicom-web/studies/${own}/series/../../${target}/metadata`,
    ]) {
      expect([400, 404], sneaky).toContain(await rawGet(sneaky));
    }
    expect(await rawGet(`/dicom-web/studies/${own}/metadata`)).toBe(200);

    const anonymous = await fetch(`${stack.url}${shapes(people.a.studyUid)[4]}`);
    expect(anonymous.status).toBe(401);
    // Orthanc's DICOMweb 1.7 has no /thumbnail (OHIF renders thumbnails from frames), but the
    // gateway still refuses the other group before Orthanc is asked.
    const thumbnail = await people.b.context.request.get(`${stack.url}/dicom-web/studies/${people.a.studyUid}/series/${seriesUid}/thumbnail`);
    expect(thumbnail.status()).toBe(404);
    expect(await thumbnail.json()).toMatchObject({ error: { code: 'not_found', message: 'No such study.' } });
  });

  it("shows each user only their own study in OHIF's study list", async () => {
    for (const key of ['a', 'b'] as const) {
      const page = await people[key].context.newPage();
      await page.goto(`${stack.url}/viewer/`);
      await page.getByText('Study List').waitFor({ timeout: 60_000 });
      await page.getByText(people[key].patient).first().waitFor({ timeout: 60_000 });
      const other = key === 'a' ? people.b.patient : people.a.patient;
      expect(await page.getByText(other).count()).toBe(0);
      await page.screenshot({ path: screenshotPath(`10-ohif-study-list-user-${key}`) });
      await page.close();
    }
  });

  it('opens a share link in a browser without an account: the viewer shows that one study, nothing else', async () => {
    const created = await people.a.context.request.post(`${stack.url}/api/studies/${people.a.studyUid}/share-links`, { headers: { origin: stack.url }, data: { expiresInHours: 1 } });
    expect(created.status()).toBe(201);
    const { link } = (await created.json()) as { link: { url: string } };
    expect(link.url.startsWith(`${stack.url}/share/`)).toBe(true);
    const stranger = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    try {
      const page = await stranger.newPage();
      await page.goto(link.url);
      await page.waitForURL(`${stack.url}/viewer/viewer?StudyInstanceUIDs=${people.a.studyUid}`);
      await page.locator('canvas').first().waitFor({ timeout: 60_000 });
      await page.waitForTimeout(2_000);
      await page.screenshot({ path: screenshotPath('12-share-link-viewer') });
      const qido = (await (await stranger.request.get(`${stack.url}/dicom-web/studies`)).json()) as unknown[];
      expect(qido).toHaveLength(1);
      expect((await stranger.request.get(`${stack.url}/dicom-web/studies/${people.b.studyUid}/metadata`)).status()).toBe(404);
      expect((await stranger.request.get(`${stack.url}/api/studies`)).status()).toBe(401);
    } finally {
      await stranger.close();
    }
  });

  it('shows each user only their own study in the dashboard', async () => {
    for (const key of ['a', 'b'] as const) {
      const page = await people[key].context.newPage();
      await page.goto(`${stack.url}/studies`);
      await page.getByTestId('studies-table').waitFor();
      const rows = await page.locator('tr[data-study-uid]').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-study-uid')));
      expect(rows).toEqual([people[key].studyUid]);
      await page.screenshot({ path: screenshotPath(`13-dashboard-studies-user-${key}`) });
      await page.goto(`${stack.url}/patients`);
      await page.getByTestId('patients-table').waitFor();
      expect(await page.locator('tr[data-patient-key]').count()).toBe(1);
      await page.close();
    }
  });

  it('lets the admin create a user in the dashboard (one-time password) and read the audit trail', async () => {
    const admin = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    try {
      const page = await admin.newPage();
      await page.goto(`${stack.url}/login`);
      await page.getByLabel(/e-?mail/i).fill('first.admin@e2e.test');
      await page.getByLabel(/password/i).fill('tenancy-admin-secret-01');
      await page.getByRole('button', { name: /sign in/i }).click();
      // Patients is the start page; an admin sees both groups' patients there and both studies.
      await page.getByTestId('patients-table').waitFor();
      expect(await page.locator('tr[data-patient-key]').count()).toBe(2);
      await page.goto(`${stack.url}/studies`);
      await page.getByTestId('studies-table').waitFor();
      expect(await page.locator('tr[data-study-uid]').count()).toBe(2);

      await page.goto(`${stack.url}/admin/users`);
      const form = page.getByTestId('create-user-form');
      await form.getByLabel('E-mail').fill('radiologist.c@e2e.test');
      await form.getByLabel('Display name').fill('Radiologist C');
      await form.getByLabel('Role').selectOption('radiologist');
      await form.getByLabel('Hospital A').check();
      await form.getByRole('button').last().click();
      await expect.poll(async () => (await page.getByTestId('generated-password').inputValue()).length).toBe(24);
      await expect.poll(() => page.getByTestId('users-table').textContent()).toContain('radiologist.c@e2e.test');
      await page.screenshot({ path: screenshotPath('14-admin-users') });

      await page.goto(`${stack.url}/admin/audit`);
      await page.getByTestId('audit-table').waitFor();
      await page.getByTestId('audit-filters').getByLabel('Action').fill('study.view');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await expect.poll(() => page.getByTestId('audit-table').textContent()).toContain(people.a.studyUid);
      await page.screenshot({ path: screenshotPath('15-admin-audit') });
    } finally {
      await admin.close();
    }
  });

  it("opening the other group's study URL in OHIF shows no images", async () => {
    const page = await people.a.context.newPage();
    const frames: string[] = [];
    page.on('response', (response) => {
      if (/\/frames\//.test(response.url()) && response.status() === 200) frames.push(response.url());
    });
    await page.goto(`${stack.url}/viewer/viewer?StudyInstanceUIDs=${people.b.studyUid}`);
    await page.waitForTimeout(8_000);
    await page.screenshot({ path: screenshotPath('11-ohif-other-groups-study') });
    expect(frames).toEqual([]);
    expect(await page.getByText(people.b.patient).count()).toBe(0);
    await page.close();
  });

  it('shows the lockout message after 5 failed sign-ins, without saying whether the account exists', async () => {
    const visitor = await browser.newContext();
    try {
      const page = await visitor.newPage();
      await page.goto(`${stack.url}/login`);
      for (let i = 0; i < 6; i++) {
        await page.getByLabel(/e-?mail/i).fill('user.b@e2e.test');
        await page.getByLabel(/password/i).fill(`wrong-${i}`);
        await page.getByRole('button', { name: /sign in/i }).click();
        await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/incorrect|Too many/);
      }
      await expect.poll(() => page.getByRole('alert').textContent()).toContain('Too many failed sign-in attempts. Try again in 1 minute.');
      await page.screenshot({ path: screenshotPath('16-login-lockout') });
    } finally {
      await visitor.close();
    }
  });
});
