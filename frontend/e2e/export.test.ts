// Export bundles end to end: a CT imported through the API, the patient chosen on the export
// page, a de-identified export (with modified dates) started and followed to 100 %, the ZIP
// downloaded in the browser and opened (manifest, every instance, no patient name anywhere in
// the paths), and the export found in the admin's data-use ledger.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { launchChromium, screenshotPath, signInFirstAdmin } from './browser.js';
import { launchStack, printedAdminPassword, repoRoot, stackEnvironment, stopStack, type StackProcess } from './stack-process.js';

const ctDir = join(repoRoot, '../shared/data/ct-volume-pancreas-tcia');
const dicomCount = readdirSync(ctDir).filter((name) => name.endsWith('.dcm')).length;
/** The patient's name and ID in the source files; neither may appear in a de-identified bundle's paths. */
const PATIENT_ID = 'Pancreas-CT-CB_001';
const PURPOSE = 'E2E: training a pancreas segmentation model';
const RECIPIENT = 'E2E research partner';

type ImportAnswer = { import: { status: string; counters: { instancesStored: number }; studies: { studyInstanceUid: string; patientKey: string | null }[] } };

type Manifest = {
  exportId: string;
  purpose: string;
  recipient: string;
  options: { format: string; deidentified: boolean };
  deidentification: { profile: string; options: string[] } | null;
  files: { path: string; sha256: string; bytes: number }[];
};

/** Every entry of a ZIP file on disk, by name. */
async function unzip(path: string): Promise<Map<string, Buffer>> {
  const entries = new Map<string, Buffer>();
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.open(path, { lazyEntries: true }, (error, file) => (error ? reject(error) : resolve(file))));
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) =>
      zip.openReadStream(entry, async (error, stream) => {
        if (error) return reject(error);
        try {
          const chunks: Buffer[] = [];
          for await (const chunk of stream) chunks.push(chunk as Buffer);
          entries.set(entry.fileName, Buffer.concat(chunks));
          zip.readEntry();
        } catch (caught) {
          reject(caught as Error);
        }
      }),
    );
    zip.on('end', () => resolve());
    zip.on('error', reject);
    zip.readEntry();
  });
  return entries;
}

describe('exporting a patient from the dashboard', () => {
  let env: Record<string, string>;
  let stack: StackProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let patientKey = '';
  let exportUrl = '';
  const downloadDir = mkdtempSync(join(tmpdir(), 'preview-dicom-e2e-export-'));
  const zipPath = join(downloadDir, 'export.zip');
  const problems: string[] = [];

  beforeAll(async () => {
    env = await stackEnvironment();
    stack = await launchStack(env);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('response', (response) => {
      if (response.status() >= 500 && response.url().includes('/api/')) problems.push(`${response.status()} ${response.request().method()} ${response.url()}`);
    });

    // The printed first admin, held to a password change as in the other tests.
    await signInFirstAdmin(page, stack.url, printedAdminPassword(stack.output())!, 'e2e-export-admin-secret-2026');
  });

  afterAll(async () => {
    if (problems.length) console.warn('problems seen during the run:\n' + problems.join('\n'));
    await browser?.close();
    await stopStack(stack, env);
    rmSync(downloadDir, { recursive: true, force: true });
  });

  it('imports the CT folder through the API in one multipart request', async () => {
    const session = (await (await context.request.get(`${stack.url}/api/auth/session`)).json()) as { user: { groups: { id: string }[] } };
    const form = new FormData();
    for (const name of readdirSync(ctDir).sort()) form.append('file', new Blob([readFileSync(join(ctDir, name))]), name);
    const response = await context.request.post(`${stack.url}/api/imports?groupId=${session.user.groups[0]!.id}`, { headers: { origin: stack.url }, multipart: form, timeout: 120_000 });
    expect(response.status(), await response.text()).toBe(201);
    const { import: job } = (await response.json()) as ImportAnswer;
    expect(job.status).toBe('completed');
    expect(job.counters.instancesStored).toBe(dicomCount);
    expect(job.studies).toHaveLength(1);
    patientKey = job.studies[0]!.patientKey!;
    expect(patientKey).toBeTruthy();
  });

  it('chooses the patient, de-identified with modified dates, and follows the export to 100 %', async () => {
    await page.goto(`${stack.url}/exports`);
    await page.getByRole('heading', { name: 'Export', exact: true }).waitFor();
    const row = page.getByTestId('export-patients-table').locator(`tr[data-patient-key="${patientKey}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain(PATIENT_ID);

    // Starting with nothing chosen and no purpose: readable problems, nothing sent.
    await page.getByTestId('export-start').click();
    await expect.poll(() => page.getByTestId('export-selection-error').textContent()).toContain('at least one patient');
    expect(await page.getByTestId('export-purpose').getAttribute('aria-invalid')).toBe('true');
    expect(new URL(page.url()).pathname).toBe('/exports');

    // Ticking the patient chooses all its studies and puts the choice in the address.
    await row.getByTestId('export-patient-check').check();
    await expect.poll(() => new URL(page.url()).searchParams.get('patients')).toBe(patientKey);
    expect(await page.getByTestId('export-selection-summary').textContent()).toContain('1 patient (all its studies)');
    await row.getByTestId('export-patient-expand').click();
    const studies = page.getByTestId('export-study-list');
    await studies.waitFor();
    expect(await studies.getByTestId('export-study-check').count()).toBe(1);
    expect(await studies.getByTestId('export-study-check').isChecked()).toBe(true);

    await page.getByTestId('export-format-dicom').check();
    await page.getByTestId('export-deidentified').check();
    await page.getByTestId('export-deid-retainLongitudinalModifiedDates').check();
    expect(await page.getByTestId('export-include-burned-in').isChecked()).toBe(false);
    await page.getByTestId('export-purpose').fill(PURPOSE);
    await page.getByTestId('export-recipient').fill(RECIPIENT);
    await page.screenshot({ path: screenshotPath('40-export-form'), fullPage: true });

    await page.getByTestId('export-start').click();
    await page.waitForURL(/\/exports\/[0-9a-f-]{36}$/);
    exportUrl = page.url();
    const progress = page.getByTestId('export-progress');
    await progress.waitFor();
    await expect.poll(() => page.getByTestId('export-status').textContent(), { timeout: 120_000 }).toBe('Completed');
    expect(await progress.getAttribute('aria-valuenow')).toBe('100');
    expect(await page.getByTestId('export-counter-instances').textContent()).toBe(`${dicomCount} of ${dicomCount}`);
    expect(await page.getByTestId('export-recipient-value').textContent()).toBe(RECIPIENT);
    expect(await page.getByTestId('export-identity-value').textContent()).toContain('Retain Longitudinal Temporal Information with Modified Dates');
    // A CT has no series at risk of burned-in text.
    await page.getByTestId('export-flagged-none').waitFor();
    expect(await page.getByTestId('export-expiry').textContent()).toMatch(/^available until /);
    await page.screenshot({ path: screenshotPath('41-export-completed'), fullPage: true });
  });

  it('shows the finished export again after a reload, from its id alone', async () => {
    await page.reload();
    await page.getByTestId('export-job').waitFor();
    expect(await page.getByTestId('export-status').textContent()).toBe('Completed');
    expect(await page.getByTestId('export-progress').getAttribute('aria-valuenow')).toBe('100');
    await page.getByTestId('export-download').waitFor();
  });

  it('downloads a de-identified ZIP with its manifest and every instance, and no patient name in it', async () => {
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), page.getByTestId('export-download').click()]);
    await download.saveAs(zipPath);
    expect(await download.failure()).toBeNull();

    const entries = await unzip(zipPath);
    const names = [...entries.keys()];
    expect(names).toContain('manifest.json');
    const manifest = JSON.parse(entries.get('manifest.json')!.toString('utf8')) as Manifest;
    expect(manifest.options).toMatchObject({ format: 'dicom', deidentified: true });
    expect(manifest.deidentification).not.toBeNull();
    expect(manifest.deidentification!.options).toEqual(['retainLongitudinalModifiedDates']);
    expect(manifest.purpose).toBe(PURPOSE);
    expect(manifest.recipient).toBe(RECIPIENT);
    expect(exportUrl.endsWith(`/exports/${manifest.exportId}`)).toBe(true);

    const dicomFiles = names.filter((name) => name.endsWith('.dcm'));
    expect(dicomFiles).toHaveLength(dicomCount);
    expect(dicomCount).toBe(20);
    expect(manifest.files.filter((file) => file.path.endsWith('.dcm'))).toHaveLength(dicomCount);
    // Pseudonymised folders: neither the patient ID nor any part of it is in a path.
    expect(names.filter((name) => /pancreas/i.test(name))).toEqual([]);
    expect(entries.get('manifest.json')!.toString('utf8')).not.toContain(PATIENT_ID);
  });

  it('lists the export under the recent exports', async () => {
    await page.goto(`${stack.url}/exports`);
    const listed = page.getByTestId('exports-table').locator('tbody tr').first();
    await listed.waitFor();
    expect(await listed.getAttribute('data-status')).toBe('completed');
    expect(await listed.textContent()).toContain(RECIPIENT);
  });

  it("records the export in the admin's data-use ledger", async () => {
    await page.goto(`${stack.url}/admin/ledger`);
    await page.getByRole('heading', { name: 'Data-use ledger' }).waitFor();
    const recipientRow = page.getByTestId('ledger-by-recipient').locator('tbody tr', { hasText: RECIPIENT });
    await recipientRow.waitFor();
    const cells = (await recipientRow.locator('td').allTextContents()).map((text) => text.trim());
    // Exports, studies, de-identified studies, instances, size.
    expect(cells.slice(0, 4)).toEqual(['1', '1', '1', String(dicomCount)]);
    expect(await page.getByTestId('ledger-by-group').locator('tbody tr').count()).toBe(1);
    const entry = page.getByTestId('ledger-entries').locator('tbody tr').first();
    expect(await entry.textContent()).toContain(PURPOSE);
    expect(await entry.textContent()).toContain('first.admin@e2e.test');

    // A range that ends before today's export leaves it out; the range lives in the address.
    await page.getByTestId('ledger-from').fill('2000-01-01');
    await page.getByTestId('ledger-to').fill('2000-12-31');
    await page.getByTestId('ledger-apply').click();
    await page.getByTestId('ledger-empty').waitFor();
    expect(new URL(page.url()).searchParams.get('to')).toBe('2000-12-31');
    await page.goBack();
    await page.getByTestId('ledger-by-recipient').locator('tbody tr', { hasText: RECIPIENT }).waitFor();
    await page.screenshot({ path: screenshotPath('42-export-ledger'), fullPage: true });
    expect(problems).toEqual([]);
  });
});
