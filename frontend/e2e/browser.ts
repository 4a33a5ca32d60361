import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const artifactsDir = resolve(import.meta.dirname, '../../artifacts/e2e');

/** Debian's Chromium, with the flags that keep it off the (closed) network. Playwright gives it a fresh profile. */
export async function launchChromium(): Promise<Browser> {
  mkdirSync(artifactsDir, { recursive: true });
  return chromium.launch({
    executablePath: process.env.PD_CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export const screenshotPath = (name: string) => join(artifactsDir, `${name}.png`);

/**
 * Signs in as the first admin the launcher printed and makes the forced password change,
 * leaving the page on the dashboard.
 */
export async function signInFirstAdmin(page: Page, url: string, generatedPassword: string, newPassword: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.getByTestId('login-form').waitFor();
  await page.getByLabel(/e-?mail/i).fill('first.admin@e2e.test');
  await page.getByLabel(/password/i).fill(generatedPassword);
  await page.getByRole('button', { name: /sign in/i }).click();
  await page.getByTestId('change-password-form').waitFor();
  await page.getByLabel('Current password').fill(generatedPassword);
  await page.getByLabel('New password', { exact: true }).fill(newPassword);
  await page.getByLabel('Repeat new password').fill(newPassword);
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.waitForURL((current) => current.pathname !== '/account/password');
}
