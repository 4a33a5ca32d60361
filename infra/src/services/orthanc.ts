import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FatalProbeError, ManagedProcess, waitUntilHealthy } from '../process.js';
import { jsonString, renderTemplate } from '../templates.js';

export type OrthancOptions = {
  bin: string;
  dicomwebPlugin: string;
  name: string;
  aet: string;
  httpPort: number;
  dicomPort: number;
  user: string;
  password: string;
  dataDir: string;
  configDir: string;
  logDir: string;
  startTimeoutMs: number;
  /** Only in containers, where the backend and nginx reach Orthanc over the network. */
  remoteAccessAllowed?: boolean;
};

/** True once Orthanc serves its REST API with our credentials and the DICOMweb plugin loaded. */
export async function orthancAnswers(httpPort: number, user: string, password: string): Promise<boolean> {
  const headers = { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
  const system = await fetch(`http://127.0.0.1:${httpPort}/system`, { headers, signal: AbortSignal.timeout(2_000) });
  await system.body?.cancel();
  if (system.status === 401) throw new FatalProbeError(`Orthanc on port ${httpPort} refused our credentials: is another Orthanc using this port?`);
  if (!system.ok) return false;
  const plugins = await fetch(`http://127.0.0.1:${httpPort}/plugins`, { headers, signal: AbortSignal.timeout(2_000) });
  const loaded = plugins.ok ? ((await plugins.json()) as string[]) : [];
  if (!loaded.includes('dicom-web')) {
    throw new FatalProbeError(`Orthanc started without its DICOMweb plugin (loaded: ${loaded.join(', ') || 'none'}). Check PD_ORTHANC_DICOMWEB_PLUGIN and the orthanc-dicomweb package.`);
  }
  return true;
}

export function renderOrthancConfig(options: Omit<OrthancOptions, 'bin' | 'dataDir' | 'configDir' | 'logDir' | 'startTimeoutMs'>, dirs: { storageDir: string; indexDir: string }): string {
  return renderTemplate('orthanc/orthanc.json.tmpl', {
    ORTHANC_NAME: jsonString(options.name),
    STORAGE_DIR: jsonString(dirs.storageDir),
    INDEX_DIR: jsonString(dirs.indexDir),
    HTTP_PORT: options.httpPort,
    DICOM_PORT: options.dicomPort,
    DICOM_AET: jsonString(options.aet),
    HTTP_USER: jsonString(options.user),
    HTTP_PASSWORD: jsonString(options.password),
    DICOMWEB_PLUGIN: jsonString(options.dicomwebPlugin),
    REMOTE_ACCESS_ALLOWED: String(options.remoteAccessAllowed ?? false),
  });
}

export async function startOrthanc(options: OrthancOptions): Promise<ManagedProcess> {
  const storageDir = join(options.dataDir, 'storage');
  const indexDir = join(options.dataDir, 'index');
  mkdirSync(storageDir, { recursive: true });
  mkdirSync(indexDir, { recursive: true });
  const configFile = join(options.configDir, 'orthanc.json');
  writeFileSync(configFile, renderOrthancConfig(options, { storageDir, indexDir }), { mode: 0o600 });
  const proc = new ManagedProcess({
    name: 'orthanc',
    command: options.bin,
    // Orthanc logs to stderr by default, which lands in this file.
    args: [configFile],
    logFile: join(options.logDir, 'orthanc.log'),
  });
  await waitUntilHealthy(proc, () => orthancAnswers(options.httpPort, options.user, options.password), options.startTimeoutMs);
  return proc;
}
