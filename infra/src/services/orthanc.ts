import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess, waitUntilHealthy } from '../process.js';
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
};

export async function orthancAnswers(httpPort: number, user: string, password: string): Promise<boolean> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/system`, {
    headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` },
    signal: AbortSignal.timeout(2_000),
  });
  await response.body?.cancel();
  if (response.status === 401) throw new Error('Orthanc refused our credentials: is another Orthanc on this port?');
  return response.ok;
}

export async function startOrthanc(options: OrthancOptions): Promise<ManagedProcess> {
  const storageDir = join(options.dataDir, 'storage');
  const indexDir = join(options.dataDir, 'index');
  mkdirSync(storageDir, { recursive: true });
  mkdirSync(indexDir, { recursive: true });
  const configFile = join(options.configDir, 'orthanc.json');
  writeFileSync(
    configFile,
    renderTemplate('orthanc/orthanc.json.tmpl', {
      ORTHANC_NAME: jsonString(options.name),
      STORAGE_DIR: jsonString(storageDir),
      INDEX_DIR: jsonString(indexDir),
      HTTP_PORT: options.httpPort,
      DICOM_PORT: options.dicomPort,
      DICOM_AET: jsonString(options.aet),
      HTTP_USER: jsonString(options.user),
      HTTP_PASSWORD: jsonString(options.password),
      DICOMWEB_PLUGIN: jsonString(options.dicomwebPlugin),
    }),
    { mode: 0o600 },
  );
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
