// The dashboard's import page end to end: a folder picked in the browser is uploaded in
// batches, watched live, summarised; importing it again finds duplicates; the patient page
// shows the series thumbnail, and "Open in viewer" renders the CT in OHIF.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshotPath, signInFirstAdmin } from './browser.js';
import { launchStack, printedAdminPassword, repoRoot, stackEnvironment, stopStack, type StackProcess } from './stack-process.js';

const ctDir = join(repoRoot, '../shared/data/ct-volume-pancreas-tcia');
const dicomCount = readdirSync(ctDir).filter((name) => name.endsWith('.dcm')).length;
const fileCount = readdirSync(ctDir).length;

describe('importing a folder from the dashboard', () => {
  let env: Record<string, string>;
  let stack: StackProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let firstImportUrl = '';
  const problems: string[] = [];

  beforeAll(async () => {
    env = await stackEnvironment();
    stack = await launchStack(env);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));

    // The printed first admin, held to a password change as in stack.test.ts.
    await signInFirstAdmin(page, stack.url, printedAdminPassword(stack.output())!, 'e2e-import-admin-secret-2026');
  });

  afterAll(async () => {
    await browser?.close();
    await stopStack(stack, env);
  });

  /** Picks the CT folder with the folder input, starts, and waits for the summary of the finished job. */
  async function importFolder(screenshotPrefix: string): Promise<void> {
    await page.goto(`${stack.url}/import`);
    await page.getByRole('heading', { name: 'Import', exact: true }).waitFor();
    // Its own first group is preselected for the admin (the launcher makes one).
    await expect.poll(() => page.getByTestId('import-group').inputValue()).not.toBe('');
    await page.getByTestId('import-folder-input').setInputFiles(ctDir);
    await expect.poll(() => page.getByTestId('import-selection').textContent()).toContain(`${fileCount} files`);
    await page.screenshot({ path: screenshotPath(`${screenshotPrefix}-selected`) });
    await page.getByTestId('import-start').click();
    // The job page takes over as soon as the job exists, with the upload's progress bar.
    await page.waitForURL(/\/imports\/[0-9a-f-]{36}$/);
    await page.getByTestId('import-progress').waitFor();
    await page.getByTestId('import-summary').waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('import-progress').getAttribute('aria-valuenow')).toBe('100');
    expect(await page.getByTestId('import-status').textContent()).toBe('Completed');
    await page.screenshot({ path: screenshotPath(`${screenshotPrefix}-completed`), fullPage: true });
  }

  const counter = (name: string) => page.getByTestId(`import-counter-${name}`).textContent();

  it('uploads the picked folder with live progress and sums it up', async () => {
    await importFolder('20-import');
    expect(await counter('filesReceived')).toBe(String(fileCount));
    expect(await counter('instancesStored')).toBe(String(dicomCount));
    expect(await counter('duplicates')).toBe('0');
    expect(await counter('rejected')).toBe('0');
    // The licence and citation texts beside the DICOM files are not DICOM.
    expect(await counter('skipped')).toBe(String(fileCount - dicomCount));
    expect(await page.getByTestId('import-studies').locator('li').count()).toBe(1);
    expect(await page.getByTestId('import-files-table').locator('tbody tr').count()).toBe(fileCount);
    firstImportUrl = page.url();
  });

  it('shows the finished job again after a reload, from the server alone', async () => {
    await page.reload();
    await page.getByTestId('import-summary').waitFor();
    expect(await counter('instancesStored')).toBe(String(dicomCount));
    // The upload belonged to the page before the reload: no progress bar now.
    expect(await page.getByTestId('import-progress').count()).toBe(0);
    await page.getByTestId('import-outcome-filter').selectOption('skipped');
    await expect.poll(() => page.getByTestId('import-files-table').locator('tbody tr').count()).toBe(fileCount - dicomCount);
    expect(new URL(page.url()).searchParams.get('outcome')).toBe('skipped');
  });

  it('finds every instance already stored when the same folder is imported again', async () => {
    await importFolder('21-import-again');
    expect(page.url()).not.toBe(firstImportUrl);
    expect(await counter('duplicates')).toBe(String(dicomCount));
    expect(await counter('instancesStored')).toBe('0');
    expect(await counter('rejected')).toBe('0');

    // Both jobs are listed under the drop zone, newest first.
    await page.goto(`${stack.url}/import`);
    await expect.poll(() => page.getByTestId('imports-table').locator('tbody tr').count()).toBe(2);
    await page.goto(firstImportUrl);
    await page.getByTestId('import-summary').waitFor();
  });

  it('opens the patient page from the summary, with the series thumbnail', async () => {
    await page.getByTestId('import-patient-link').first().click();
    await page.getByTestId('patient-page').waitFor();
    expect(new URL(page.url()).pathname).toMatch(/^\/patients\/.+/);
    expect(await page.getByTestId('patient-name').textContent()).toContain('Pancreas-CT-CB_001');
    expect(await page.getByTestId('study-card').count()).toBe(1);
    const thumbnail = page.getByTestId('series-thumbnail').first();
    await thumbnail.scrollIntoViewIfNeeded();
    await expect
      .poll(() => thumbnail.evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : 0)), { timeout: 30_000 })
      .toBeGreaterThan(0);
    await page.screenshot({ path: screenshotPath('22-patient-page'), fullPage: true });

    // The registry lists the patient too.
    await page.goto(`${stack.url}/patients`);
    await page.getByTestId('patients-table').waitFor();
    expect(await page.getByTestId('patients-table').textContent()).toContain('Pancreas-CT-CB_001');
    await page.screenshot({ path: screenshotPath('23-patients') });
  });

  it('asks for the patient and study of a NIfTI volume before anything is sent', async () => {
    await page.goto(`${stack.url}/import`);
    await page.getByTestId('imports-table').waitFor();
    await page.getByTestId('import-files-input').setInputFiles({ name: 'brain.nii', mimeType: 'application/octet-stream', buffer: Buffer.alloc(352) });
    await page.getByTestId('nifti-form').waitFor();
    await page.getByTestId('import-start').click();
    await expect.poll(() => page.getByTestId('import-error').textContent()).toContain('NIfTI details');
    expect(await page.getByTestId('nifti-patientName').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByTestId('nifti-modality').getAttribute('aria-invalid')).toBe('true');
    expect(new URL(page.url()).pathname).toBe('/import');
    await page.screenshot({ path: screenshotPath('25-import-nifti-form'), fullPage: true });
    expect(await page.getByTestId('imports-table').locator('tbody tr').count()).toBe(2);
  });

  it('offers Finish and Cancel for a job left open by an upload that is gone', async () => {
    const session = (await (await context.request.get(`${stack.url}/api/auth/session`)).json()) as { user: { groups: { id: string }[] } };
    const created = await context.request.post(`${stack.url}/api/imports`, { headers: { origin: stack.url }, data: { groupId: session.user.groups[0]!.id } });
    expect(created.status()).toBe(201);
    const { import: job } = (await created.json()) as { import: { id: string } };
    await page.goto(`${stack.url}/imports/${job.id}`);
    await page.getByTestId('import-stranded').waitFor();
    expect(await page.getByTestId('import-status').textContent()).toBe('Waiting for files');
    // Its progress arrives as Server-Sent Events through the gateway.
    await expect.poll(() => page.getByTestId('import-live').textContent()).toContain('updating live');
    await page.getByTestId('import-cancel').click();
    await expect.poll(() => page.getByTestId('import-status').textContent()).toBe('Cancelled');
    await page.getByTestId('import-summary').waitFor();
    expect(await page.getByTestId('import-stranded').count()).toBe(0);
  });

  it('opens the study in OHIF from the patient page, and OHIF renders it', async () => {
    await page.goto(`${stack.url}/patients`);
    await page.getByTestId('patients-table').getByRole('link').first().click();
    await page.getByTestId('patient-page').waitFor();
    await page.getByTestId('open-in-viewer').first().click();
    await page.waitForURL(/\/viewer\/viewer\?StudyInstanceUIDs=/);
    await page.locator('canvas').first().waitFor({ timeout: 60_000 });
    await page.getByText('PANCREAS DI, iDose (3)').first().waitFor({ timeout: 60_000 });
    await page.waitForTimeout(2_000);
    await page.screenshot({ path: screenshotPath('24-import-ohif-viewer') });
    expect(problems).toEqual([]);
  });
});
