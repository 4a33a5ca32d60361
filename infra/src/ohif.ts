import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { repoRoot } from './config.js';
import { promisify } from 'node:util';
import { renderTemplate } from './templates.js';

const execFileAsync = promisify(execFile);

export const OHIF_BASE_PATH = '/viewer/';

type RebaseReport = { webpackPublicPathFiles: string[]; cssFiles: number };

/**
 * Rebases a root-built OHIF dist to /viewer/ in place. The package has no build-time
 * option for this, hence the text edits (see DESIGN.md for what each one fixes).
 */
export function rebaseOhifDist(distDir: string, basePath = OHIF_BASE_PATH): RebaseReport {
  const indexFile = join(distDir, 'index.html');
  let index = readFileSync(indexFile, 'utf8');
  index = index
    .replace(/window\.PUBLIC_URL\s*=\s*'\/'/g, `window.PUBLIC_URL = '${basePath}'`)
    .replace(/(\s(?:src|href))="\/(?!\/)/g, `$1="${basePath}`);
  writeFileSync(indexFile, index);

  const webpackPublicPathFiles: string[] = [];
  let cssFiles = 0;
  for (const file of readdirSync(distDir)) {
    const path = join(distDir, file);
    if (file.endsWith('.js')) {
      const source = readFileSync(path, 'utf8');
      if (!source.includes('__webpack_require__.p = "/"')) continue;
      // The main bundle and each worker bundle carry their own webpack runtime.
      writeFileSync(path, source.replaceAll('__webpack_require__.p = "/"', `__webpack_require__.p = "${basePath}"`));
      webpackPublicPathFiles.push(file);
    } else if (file.endsWith('.css')) {
      const source = readFileSync(path, 'utf8');
      if (!source.includes('url(/')) continue;
      writeFileSync(path, source.replace(/url\(\/(?!\/)/g, `url(${basePath}`));
      cssFiles += 1;
    }
  }
  if (!webpackPublicPathFiles.some((file) => file.startsWith('app.bundle.'))) {
    throw new Error('OHIF rebase: app.bundle has no `__webpack_require__.p = "/"`; this @ohif/app version is laid out differently.');
  }
  return { webpackPublicPathFiles, cssFiles };
}

const KEEPALIVE_SCRIPT = 'preview-dicom-session.js';

export function writeOhifAppConfig(ohifDir: string, options: { dicomUploadEnabled: boolean }): void {
  writeFileSync(join(ohifDir, 'app-config.js'), renderTemplate('infra/templates/ohif-app-config.js.tmpl', { DICOM_UPLOAD_ENABLED: String(options.dicomUploadEnabled) }));
  copyFileSync(resolve(repoRoot, 'infra/templates/ohif-session-keepalive.js'), join(ohifDir, KEEPALIVE_SCRIPT));
  const indexFile = join(ohifDir, 'index.html');
  const index = readFileSync(indexFile, 'utf8');
  if (!index.includes(KEEPALIVE_SCRIPT)) writeFileSync(indexFile, index.replace('</head>', `<script src="${OHIF_BASE_PATH}${KEEPALIVE_SCRIPT}"></script></head>`));
}

/**
 * Makes sure runtime/ohif holds the given @ohif/app version's dist, rebased to /viewer/.
 * The tarball comes from the npm registry (`npm pack`) and is cached.
 */
export async function prepareOhif(options: { version: string; ohifDir: string; cacheDir: string; tmpDir: string; log: (line: string) => void }): Promise<void> {
  const marker = join(options.ohifDir, '.preview-dicom.json');
  const wanted = JSON.stringify({ package: '@ohif/app', version: options.version, basePath: OHIF_BASE_PATH });
  if (!existsSync(marker) || readFileSync(marker, 'utf8') !== wanted) {
    mkdirSync(options.cacheDir, { recursive: true });
    const tarball = join(options.cacheDir, `ohif-app-${options.version}.tgz`);
    if (!existsSync(tarball)) {
      options.log(`Fetching @ohif/app@${options.version} from the npm registry (about 50 MB, once)...`);
      try {
        await execFileAsync('npm', ['pack', `@ohif/app@${options.version}`, '--pack-destination', options.cacheDir, '--silent'], { timeout: 600_000 });
      } catch (error) {
        throw new Error(`could not download @ohif/app@${options.version} with npm pack: ${(error as { stderr?: string }).stderr?.trim() || (error as Error).message}`);
      }
    }
    const extractDir = join(options.tmpDir, `ohif-extract-${process.pid}`);
    rmSync(extractDir, { recursive: true, force: true });
    mkdirSync(extractDir, { recursive: true });
    await execFileAsync('tar', ['-xzf', tarball, '-C', extractDir, 'package/dist']);
    const dist = join(extractDir, 'package/dist');
    const report = rebaseOhifDist(dist);
    options.log(`OHIF ${options.version} rebased to ${OHIF_BASE_PATH} (${report.webpackPublicPathFiles.length} bundles with a webpack public path, ${report.cssFiles} stylesheets).`);
    rmSync(options.ohifDir, { recursive: true, force: true });
    mkdirSync(dirname(options.ohifDir), { recursive: true });
    renameSync(dist, options.ohifDir);
    rmSync(extractDir, { recursive: true, force: true });
    writeFileSync(marker, wanted);
  }
  writeOhifAppConfig(options.ohifDir, { dicomUploadEnabled: false });
}
