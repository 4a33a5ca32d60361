import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshotPath } from './browser.js';
import { stowBody } from '../../backend/test/dicom.js';
import { isAlive, launchStack, printedAdminPassword, repoRoot, servicePids, stackEnvironment, stopStack, type StackProcess } from './stack-process.js';

const ctDir = join(repoRoot, '../shared/data/ct-volume-pancreas-tcia');

describe('the whole stack from the launcher, in Chromium', () => {
  let env: Record<string, string>;
  let stack: StackProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let adminPassword: string;
  let studyUid: string;
  const newAdminPassword = 'e2e-admin-renewed-secret-2026';

  beforeAll(async () => {
    env = await stackEnvironment();
    stack = await launchStack(env);
    adminPassword = printedAdminPassword(stack.output())!;
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    page = await context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await stopStack(stack, env);
  });

  it('prints the URL and the first admin with a generated password', () => {
    expect(stack.output()).toContain(`running at  ${stack.url}/`);
    expect(stack.output()).toContain('e-mail:   first.admin@e2e.test');
    expect(adminPassword).toMatch(/^[A-Za-z0-9_-]{24}$/);
  });

  it('shows the dashboard login page at the URL', async () => {
    await page.goto(`${stack.url}/`);
    await expect.poll(() => page.url()).toContain('/login');
    await page.getByTestId('login-form').waitFor();
    expect(await page.getByRole('heading', { name: /Sign in to Preview-DICOM/ }).isVisible()).toBe(true);
    await page.screenshot({ path: screenshotPath('01-login') });
  });

  it('refuses a wrong password with a readable message, then holds the first admin to a password change', async () => {
    await page.getByLabel(/e-?mail/i).fill('first.admin@e2e.test');
    await page.getByLabel(/password/i).fill('wrong-password');
    await page.getByRole('button', { name: /sign in/i }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('E-mail or password is incorrect.');

    await page.getByLabel(/password/i).fill(adminPassword);
    await page.getByRole('button', { name: /sign in/i }).click();
    await page.getByTestId('change-password-form').waitFor();
    expect(new URL(page.url()).pathname).toBe('/account/password');
    // Nothing else works until the password is changed, DICOMweb included.
    expect((await context.request.get(`${stack.url}/dicom-web/studies`)).status()).toBe(403);
    await page.screenshot({ path: screenshotPath('02-forced-password-change') });

    await page.getByLabel('Current password').fill(adminPassword);
    await page.getByLabel('New password', { exact: true }).fill('password1234');
    await page.getByLabel('Repeat new password').fill('password1234');
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect.poll(() => page.getByTestId('change-password-error').textContent()).toMatch(/most common/);

    await page.getByLabel('New password', { exact: true }).fill(newAdminPassword);
    await page.getByLabel('Repeat new password').fill(newAdminPassword);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.waitForURL((url) => url.pathname !== '/account/password');
  });

  it('shows system status with every dependency up', async () => {
    await page.goto(`${stack.url}/status`);
    await page.getByTestId('health-table').waitFor();
    await expect.poll(() => page.getByTestId('health-table').textContent()).toMatch(/orthanc/i);
    const table = (await page.getByTestId('health-table').textContent()) ?? '';
    expect(table).toMatch(/redis/i);
    expect(table).toMatch(/database/i);
    expect(table).not.toMatch(/\bdown\b/i);
    await page.screenshot({ path: screenshotPath('03-status') });
  });

  it('guards /dicom-web with the session: 401 without it, STOW and QIDO with it', async () => {
    const anonymous = await fetch(`${stack.url}/dicom-web/studies`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('unauthorized');

    const files = readdirSync(ctDir).filter((f) => f.endsWith('.dcm')).sort().map((f) => readFileSync(join(ctDir, f)));
    const { body, contentType } = stowBody(files);
    const crossSite = await context.request.post(`${stack.url}/dicom-web/studies`, { headers: { 'content-type': contentType, origin: 'https://evil.example' }, data: body });
    expect(crossSite.status()).toBe(403);
    const stored = await context.request.post(`${stack.url}/dicom-web/studies`, { headers: { 'content-type': contentType, origin: stack.url }, data: body });
    expect(stored.status()).toBe(200);

    const studies = (await (await context.request.get(`${stack.url}/dicom-web/studies`)).json()) as Record<string, { Value?: unknown[] }>[];
    expect(studies).toHaveLength(1);
    studyUid = studies[0]!['0020000D']!.Value![0] as string;
    // RetrieveURLs name the gateway, never Orthanc's own port.
    expect(studies[0]!['00081190']!.Value![0]).toBe(`${stack.url}/dicom-web/studies/${studyUid}`);
  });

  it('boots OHIF at /viewer/ with the study list from the gateway, and renders the CT', async () => {
    const problems: string[] = [];
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    await page.goto(`${stack.url}/viewer/`);
    await page.getByText('Study List').waitFor({ timeout: 60_000 });
    await page.getByText('Pancreas-CT-CB_001').first().waitFor({ timeout: 60_000 });
    await page.screenshot({ path: screenshotPath('04-ohif-study-list') });

    await page.goto(`${stack.url}/viewer/viewer?StudyInstanceUIDs=${studyUid}`);
    await page.locator('canvas').first().waitFor({ timeout: 60_000 });
    await page.getByText('PANCREAS DI, iDose (3)').first().waitFor({ timeout: 60_000 });
    await page.waitForTimeout(2_000);
    await page.screenshot({ path: screenshotPath('05-ohif-viewer-ct') });
    expect(problems).toEqual([]);
  });

  it('sends a signed-out visitor of a viewer URL to the login page, and back to that URL after signing in', async () => {
    const fresh = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    try {
      const visitor = await fresh.newPage();
      const viewerUrl = `/viewer/viewer?StudyInstanceUIDs=${studyUid}`;
      await visitor.goto(`${stack.url}${viewerUrl}`);
      await visitor.getByTestId('login-form').waitFor();
      expect(new URL(visitor.url()).pathname).toBe('/login');
      await visitor.getByLabel(/e-?mail/i).fill('first.admin@e2e.test');
      await visitor.getByLabel(/password/i).fill(newAdminPassword);
      await visitor.getByRole('button', { name: /sign in/i }).click();
      await visitor.waitForURL(`${stack.url}${viewerUrl}`);
      await visitor.locator('canvas').first().waitFor({ timeout: 60_000 });
    } finally {
      await fresh.close();
    }
  });

  it('sends the security headers on the dashboard, the API and the viewer', async () => {
    for (const path of ['/', '/api/health', '/viewer/']) {
      const response = await fetch(`${stack.url}${path}`);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'self'");
      expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
    }
    const api = await fetch(`${stack.url}/api/health`, { headers: { 'accept-encoding': 'gzip' } });
    expect(api.status).toBe(200);
  });

  it('answers a body over the /api limit with a JSON 413 that says what to do', async () => {
    const response = await fetch(`${stack.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: stack.url },
      body: Buffer.alloc(26 * 1024 * 1024, 0x20),
    });
    expect(response.status).toBe(413);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('payload_too_large');
    expect(body.error.message).toContain('PD_MAX_API_BODY_SIZE');
  });

  for (const service of ['orthanc', 'redis'] as const) {
    it(`answers 503 naming ${service} when it is killed, and 200 again once the launcher restarts it, backend untouched`, async () => {
      const before = servicePids(stack.runtimeDir);
      process.kill(before[service]!, 'SIGKILL');
      const health = async () => {
        const response = await fetch(`${stack.url}/api/health`);
        return { status: response.status, body: (await response.json()) as { failing: string[] } };
      };
      let seen = await health();
      const killedAt = Date.now();
      while (seen.status !== 503 && Date.now() - killedAt < 5_000) seen = await health();
      expect(seen.status).toBe(503);
      expect(seen.body.failing).toEqual([service]);

      // Back once the launcher has restarted it (and recorded the new process).
      const restarted = () => servicePids(stack.runtimeDir)[service] !== before[service];
      while ((seen.status !== 200 || !restarted()) && Date.now() - killedAt < 60_000) {
        await new Promise((r) => setTimeout(r, 250));
        seen = await health();
      }
      expect(seen.status).toBe(200);
      const after = servicePids(stack.runtimeDir);
      expect(after[service]).not.toBe(before[service]);
      expect(after.backend).toBe(before.backend);
      expect(stack.output()).toContain(`exited unexpectedly (signal SIGKILL); restarting it...`);
      // Data written before the kill is still served, and the session still holds.
      const studies = (await (await context.request.get(`${stack.url}/dicom-web/studies`)).json()) as unknown[];
      expect(studies).toHaveLength(1);
    });
  }

  it('refuses to start a second stack on the same ports, naming the port', async () => {
    await expect(launchStack(env, 60_000)).rejects.toThrow(new RegExp(`port ${env.PD_HTTP_PORT} for gateway HTTP \\(PD_HTTP_PORT\\) is already in use`));
  });

  it('stops every process on SIGTERM and keeps DICOM, database and sessions across a restart', async () => {
    const pids = servicePids(stack.runtimeDir);
    expect(Object.keys(pids).sort()).toEqual(['backend', 'inference', 'nginx', 'orthanc', 'redis']);
    const sessionCookie = (await context.cookies()).find((c) => c.name === 'pd_access');
    expect(sessionCookie).toBeTruthy();

    stack.child.kill('SIGTERM');
    expect(await stack.exited).toBe(0);
    expect(stack.output()).toContain('All services stopped.');
    for (const [name, pid] of Object.entries(pids)) expect(isAlive(pid), `${name} still running`).toBe(false);

    stack = await launchStack(env);
    expect(stack.output()).not.toContain('password:');
    expect(stack.output()).toContain('Admin account: first.admin@e2e.test');

    // The browser's cookie from before the restart still works: the session was persisted.
    const studies = (await (await context.request.get(`${stack.url}/dicom-web/studies`)).json()) as unknown[];
    expect(studies).toHaveLength(1);
    const session = await context.request.get(`${stack.url}/api/auth/session`);
    expect(session.status()).toBe(200);
  });
});
