// AI segmentation end to end: a CT imported through the API, a model run from the patient
// page with its stage indicator followed to "done", the result with its volumes, approved by
// the admin, the printable report, and the SEG overlaid on the CT in OHIF.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactsDir, launchChromium, screenshotPath, signInFirstAdmin } from './browser.js';
import { launchStack, printedAdminPassword, repoRoot, stackEnvironment, stopStack, type StackProcess } from './stack-process.js';

const ctDir = join(repoRoot, '../shared/data/ct-volume-pancreas-tcia');
const MODEL = 'ct_body_lungs_bone';

type ImportAnswer = { import: { status: string; counters: { instancesStored: number }; studies: { studyInstanceUid: string; patientKey: string | null }[] } };

/**
 * Pixels that are clearly coloured (not grey) in a screenshot of `target`: the CT is greyscale,
 * so a segmentation overlay shows up as coloured pixels. Decoded by the page's own canvas.
 */
async function colouredPixels(page: Page, target: Locator): Promise<number> {
  const png = await target.screenshot();
  return page.evaluate(async (base64) => {
    const image = new Image();
    image.src = `data:image/png;base64,${base64}`;
    await image.decode();
    const canvas = document.createElement('canvas');
    canvas.width = image.naturalWidth;
    canvas.height = image.naturalHeight;
    const context = canvas.getContext('2d')!;
    context.drawImage(image, 0, 0);
    // The middle of the viewport only: its corners hold coloured text, its edge the active-viewport border.
    const x0 = Math.floor(canvas.width * 0.2);
    const y0 = Math.floor(canvas.height * 0.2);
    const { data } = context.getImageData(x0, y0, Math.floor(canvas.width * 0.6), Math.floor(canvas.height * 0.6));
    let count = 0;
    for (let i = 0; i < data.length; i += 4) {
      const r = data[i]!;
      const g = data[i + 1]!;
      const b = data[i + 2]!;
      if (Math.max(r, g, b) - Math.min(r, g, b) > 15) count++;
    }
    return count;
  }, png.toString('base64'));
}

describe('AI segmentation from the dashboard to the viewer', () => {
  let env: Record<string, string>;
  let stack: StackProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let patientKey = '';
  let studyUid = '';
  let resultUrl = '';
  const problems: string[] = [];

  beforeAll(async () => {
    env = await stackEnvironment();
    stack = await launchStack(env);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('response', (response) => {
      if (response.status() >= 500 && response.url().includes('/api/')) problems.push(`${response.status()} ${response.request().method()} ${response.url()}`);
    });

    // The printed first admin, held to a password change as in the other tests.
    await signInFirstAdmin(page, stack.url, printedAdminPassword(stack.output())!, 'e2e-segmentation-admin-secret-2026');
  });

  afterAll(async () => {
    if (problems.length) console.warn('problems seen during the run:\n' + problems.join('\n'));
    await browser?.close();
    await stopStack(stack, env);
  });

  it('imports the CT folder through the API in one multipart request', async () => {
    const session = (await (await context.request.get(`${stack.url}/api/auth/session`)).json()) as { user: { groups: { id: string }[] } };
    const form = new FormData();
    for (const name of readdirSync(ctDir).sort()) form.append('file', new Blob([readFileSync(join(ctDir, name))]), name);
    const response = await context.request.post(`${stack.url}/api/imports?groupId=${session.user.groups[0]!.id}`, { headers: { origin: stack.url }, multipart: form, timeout: 120_000 });
    expect(response.status(), await response.text()).toBe(201);
    const { import: job } = (await response.json()) as ImportAnswer;
    expect(job.status).toBe('completed');
    expect(job.counters.instancesStored).toBeGreaterThan(0);
    expect(job.studies).toHaveLength(1);
    studyUid = job.studies[0]!.studyInstanceUid;
    patientKey = job.studies[0]!.patientKey!;
    expect(patientKey).toBeTruthy();
  });

  it('offers the models, with their labels, once a CT series is ticked on the patient page', async () => {
    await page.goto(`${stack.url}/patients/${encodeURIComponent(patientKey)}`);
    await page.getByTestId('patient-page').waitFor();
    const card = page.getByTestId('study-card').first();
    await card.getByTestId('segmentation-panel').waitFor();
    await card.getByTestId('segmentation-results-empty').waitFor();
    await card.getByTestId('segmentation-model-select').waitFor({ timeout: 30_000 });

    // Run with nothing ticked: a readable message, nothing sent.
    await card.getByTestId('segmentation-run').click();
    await expect.poll(() => card.getByTestId('segmentation-run-error').textContent()).toContain('at least one image series');

    const ctCard = card.locator('[data-testid="series-card"][data-modality="CT"]').first();
    await ctCard.getByTestId('series-select').check();
    await card.getByTestId('segmentation-model-select').selectOption(MODEL);
    await expect.poll(() => card.getByTestId('segmentation-model-labels').textContent()).toBe('body (1), lungs (2), bone (3)');
    expect(await card.getByTestId('segmentation-modality-hint').count()).toBe(0);
    await card.getByTestId('segmentation-run').click();
    await expect.poll(() => card.getByTestId('segmentation-run-notice').textContent()).toMatch(/Job queued/);
    await card.getByTestId('inference-job').first().waitFor();
    await page.screenshot({ path: screenshotPath('60-segmentation-running'), fullPage: true });
  });

  it('follows the job stage by stage until done, and lists the result', async () => {
    const card = page.getByTestId('study-card').first();
    const job = card.getByTestId('inference-job').first();
    const seen = new Set<string>();
    const started = Date.now();
    let stage = '';
    let status = '';
    while (Date.now() - started < 150_000) {
      stage = (await job.getByTestId('stage-indicator').getAttribute('data-stage')) ?? '';
      status = (await job.getAttribute('data-status')) ?? '';
      seen.add(stage);
      if (status !== 'queued' && status !== 'running') break;
      await page.waitForTimeout(250);
    }
    const summary = await job.getByTestId('stage-summary').textContent();
    expect(status, `job ended as ${status} at stage ${stage}: ${summary}`).toBe('completed');
    // The stage was read just before the status: it may be one poll behind.
    await expect.poll(async () => (await job.getByTestId('stage-indicator').getAttribute('data-stage')) ?? '').toBe('done');
    console.info(`stages seen while polling: ${[...seen].join(' → ')}`);
    expect(await job.locator('[aria-current="step"]').textContent()).toContain('Done');
    // The result appears in the study's list, pending review; the SEG series joins the study.
    await card.getByTestId('segmentation-result-row').first().waitFor({ timeout: 15_000 });
    expect(await card.getByTestId('segmentation-result-row').first().getByTestId('validation-status').textContent()).toBe('Pending review');
    await card.locator('[data-testid="series-card"][data-modality="SEG"]').first().waitFor({ timeout: 15_000 });
    expect(await card.locator('[data-testid="series-card"][data-modality="SEG"]').getByTestId('series-select').count()).toBe(0);
    await page.screenshot({ path: screenshotPath('61-segmentation-done'), fullPage: true });

    // The same request again finds the existing job.
    await card.getByTestId('segmentation-run').click();
    await expect.poll(() => card.getByTestId('segmentation-run-notice').textContent()).toContain('already exists');
  });

  it('shows the result with non-zero volumes for body and bone', async () => {
    const card = page.getByTestId('study-card').first();
    await card.getByTestId('inference-job-result').first().click();
    await page.getByTestId('segmentation-page').waitFor();
    resultUrl = page.url();
    await page.getByTestId('segment-volume-table').waitFor();
    const volumes: Record<string, number> = {};
    for (const row of await page.getByTestId('segment-row').all()) volumes[(await row.getAttribute('data-label'))!] = Number(await row.getAttribute('data-volume-cm3'));
    console.info(`segment volumes (cm³): ${JSON.stringify(volumes)}`);
    expect(volumes.body).toBeGreaterThan(0);
    expect(volumes.bone).toBeGreaterThan(0);
    expect(await page.getByTestId('segment-row').filter({ hasText: 'body' }).getByTestId('segment-volume').textContent()).toMatch(/^[\d,.]+\.\d{2} cm³$/);
    expect(await page.getByTestId('validation-status').first().textContent()).toBe('Pending review');
    // One study so far: the chart has one dot per label.
    await page.getByTestId('volume-chart').waitFor();
    expect(Number(await page.locator('[data-testid="volume-chart"] svg').getAttribute('data-points'))).toBe(Object.keys(volumes).length);
    await page.screenshot({ path: screenshotPath('62-segmentation-result'), fullPage: true });
  });

  it('asks for a comment before rejecting, then approves and shows who did', async () => {
    await page.getByTestId('validation-reject').click();
    await expect.poll(() => page.getByTestId('validation-problem').textContent()).toContain('comment is required');
    expect(await page.getByTestId('validation-comment').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByTestId('validation-status').first().textContent()).toBe('Pending review');

    await page.getByTestId('validation-comment').fill('Body and bone outlines checked on axial slices.');
    await page.getByTestId('validation-approve').click();
    await expect.poll(() => page.getByTestId('validation-notice').textContent()).toBe('The segmentation is approved.');
    expect(await page.getByTestId('validation-status').first().textContent()).toBe('Approved');
    expect(await page.getByTestId('validation-by').textContent()).toBe('first.admin@e2e.test');
    expect(await page.getByTestId('validation-comment-text').textContent()).toBe('Body and bone outlines checked on axial slices.');
    await page.screenshot({ path: screenshotPath('63-segmentation-approved'), fullPage: true });
  });

  it('prints a report with the volumes, the chart and the key slices', async () => {
    await page.getByTestId('segmentation-report-link').click();
    await page.getByTestId('segmentation-report').waitFor();
    await page.getByTestId('key-slices').waitFor({ timeout: 30_000 });
    const figures = page.getByTestId('key-slice');
    expect(await figures.count()).toBeGreaterThanOrEqual(2);
    // Both layers of each key slice load: the source image and the mask laid over it.
    await expect
      .poll(
        () =>
          page.evaluate(() =>
            [...document.querySelectorAll<HTMLImageElement>('[data-testid="key-slice"] img')].every((img) => img.complete && img.naturalWidth > 0),
          ),
        { timeout: 30_000 },
      )
      .toBe(true);
    expect(await page.getByTestId('report-validation-status').textContent()).toBe('Approved');
    expect(await page.getByTestId('segment-volume-table').textContent()).toContain('bone');
    await page.getByTestId('volume-chart').waitFor();
    await page.screenshot({ path: screenshotPath('64-segmentation-report'), fullPage: true });

    // As printed: no navigation, an A4 PDF.
    await page.emulateMedia({ media: 'print' });
    expect(await page.locator('nav[aria-label="Main"]').isVisible()).toBe(false);
    expect(await page.getByTestId('report-print').isVisible()).toBe(false);
    await page.screenshot({ path: screenshotPath('65-segmentation-report-print'), fullPage: true });
    await page.pdf({ path: join(artifactsDir, '65-segmentation-report.pdf'), format: 'A4', printBackground: true });
    await page.emulateMedia({ media: 'screen' });
  });

  it('overlays the SEG on the CT in OHIF', async () => {
    await page.goto(resultUrl);
    await page.getByTestId('segmentation-open-viewer').click();
    await page.waitForURL(/\/viewer\/viewer\?StudyInstanceUIDs=/);
    expect(new URL(page.url()).searchParams.get('StudyInstanceUIDs')).toBe(studyUid);
    const viewport = page.locator('[data-cy="viewport-pane"], .viewport-wrapper').first();
    await page.locator('canvas').first().waitFor({ timeout: 60_000 });
    await page.getByText('PANCREAS DI, iDose (3)').first().waitFor({ timeout: 60_000 });
    // First visit: a guided tour and an "investigational use" banner cover the viewer; dismiss both.
    const skipTour = page.getByText('Skip all', { exact: true }).first();
    if (await skipTour.waitFor({ timeout: 10_000 }).then(() => true, () => false)) await skipTour.click();
    const banner = page.getByRole('button', { name: 'Confirm and hide' }).first();
    if (await banner.isVisible().catch(() => false)) await banner.click();
    await page.waitForTimeout(2_000);
    const target = (await viewport.count()) ? viewport : page.locator('canvas').first();
    const before = await colouredPixels(page, target);
    await page.screenshot({ path: screenshotPath('66-ohif-before-seg') });

    // The SEG is a thumbnail without an image in the study browser: double-click it into the viewport.
    const segThumbnail = page.locator('[data-cy="study-browser-thumbnail-no-image"]').filter({ hasText: /SEG/ }).first();
    await segThumbnail.waitFor({ timeout: 30_000 });
    await segThumbnail.dblclick();
    const steps: string[] = ['double-clicked the SEG thumbnail'];

    // OHIF may ask before hydrating the segmentation; it may also show a load button in the viewport.
    const prompt = page.getByText('Do you want to open this Segmentation?').first();
    const segmentLabel = page.getByText('bone', { exact: true }).first();
    const firstSeen = await Promise.race([
      prompt.waitFor({ timeout: 30_000 }).then(() => 'prompt'),
      segmentLabel.waitFor({ timeout: 30_000 }).then(() => 'segments'),
    ]).catch(() => 'nothing');
    steps.push(`then saw: ${firstSeen}`);
    if (firstSeen === 'prompt') {
      await page.screenshot({ path: screenshotPath('67-ohif-seg-prompt') });
      await page.getByRole('button', { name: /^yes$/i }).first().click();
      steps.push('answered Yes');
    } else if (firstSeen === 'nothing') {
      // Fall back to dragging the thumbnail onto the viewport.
      await segThumbnail.dragTo(target);
      steps.push('dragged the SEG thumbnail onto the viewport');
      if (await prompt.isVisible().catch(() => false)) {
        await page.getByRole('button', { name: /^yes$/i }).first().click();
        steps.push('answered Yes');
      }
    }
    await page.waitForTimeout(2_000);
    await page.screenshot({ path: screenshotPath('68-ohif-seg-loaded') });
    // The segments are listed in the Segmentation panel on the right; open it if it is closed.
    const bodyLabel = page.getByText('body', { exact: true }).first();
    if (!(await bodyLabel.waitFor({ timeout: 10_000 }).then(() => true, () => false))) {
      const tab = page.locator('[data-cy*="egmentation"][data-cy$="-btn"]').first();
      if (await tab.isVisible().catch(() => false)) {
        await tab.click();
        steps.push('opened the Segmentation panel tab');
      } else {
        await page.locator('[data-cy="side-panel-header-right"]').first().click();
        steps.push('opened the right side panel');
      }
    }
    await bodyLabel.waitFor({ timeout: 60_000 });
    await segmentLabel.waitFor({ timeout: 60_000 });
    steps.push('segments "body" and "bone" listed');
    await page.waitForTimeout(3_000);
    const after = await colouredPixels(page, target);
    steps.push(`coloured viewport pixels ${before} → ${after}`);
    console.info(`OHIF SEG steps: ${steps.join('; ')}`);
    await page.screenshot({ path: screenshotPath('69-ohif-seg-overlay') });
    expect(after).toBeGreaterThan(before + 5_000);
    expect(problems.filter((problem) => !problem.startsWith('page error'))).toEqual([]);
  });
});
