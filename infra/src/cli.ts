// Stack launcher: `./stack up | down | status | reset` (see README).
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { loadStackConfig, StackConfigError } from './config.js';
import { ServiceStartError } from './process.js';
import { renderComposeConfigs } from './compose.js';
import { prepareOhif } from './ohif.js';
import { runBackendCli } from './services/backend.js';
import { startStack, type AdminCredentials } from './stack.js';

const log = (line: string) => console.log(line);

function readState(path: string): { launcherPid: number; url: string; services: Record<string, number> } | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function up() {
  const config = loadStackConfig();
  const stack = await startStack(config, log);
  const line = '─'.repeat(64);
  log(`\n${line}\n Preview-DICOM is running at  ${stack.url}/`);
  log(`   Viewer (OHIF):  ${stack.url}/viewer/    API docs: ${stack.url}/api/docs`);
  log(`   Segmentation:   ${config.inferenceUrl || 'reference models (infra/inference); set PD_INFERENCE_URL for a MONAI Label server'}`);
  if (stack.admin.created) {
    log(`\n First admin (shown only this once, change it at first sign-in):`);
    log(`   e-mail:   ${stack.admin.email}`);
    log(`   password: ${stack.admin.password}`);
  } else {
    log(`\n Admin account: ${stack.admin.email} (its password was printed at first start).`);
  }
  log(`\n Data: ${config.runtimeDir}    Logs: ${config.paths.logs}`);
  log(` Stop: Ctrl-C here, or "./stack down" from another terminal.\n${line}`);
  log('READY');

  let stopping = false;
  const shutdown = async (reason: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    log(`\nStopping (${reason})...`);
    await stack.stop();
    log('All services stopped.');
    process.exit(exitCode);
  };
  process.on('SIGINT', () => void shutdown('Ctrl-C', 0));
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
  process.on('SIGHUP', () => void shutdown('SIGHUP', 0));
  const reason = await stack.failed;
  console.error(`\n${reason}`);
  await shutdown('a service keeps failing', 1);
}

async function down() {
  const config = loadStackConfig();
  const state = readState(config.paths.stateFile);
  if (!state) {
    log('No running stack found (no runtime/stack.json).');
    return;
  }
  if (isAlive(state.launcherPid)) {
    process.kill(state.launcherPid, 'SIGTERM');
    const deadline = Date.now() + 30_000;
    while (isAlive(state.launcherPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  }
  // A launcher killed with SIGKILL leaves its services behind: stop those too.
  for (const [name, pid] of Object.entries(state.services)) {
    if (isAlive(pid)) {
      log(`Stopping leftover ${name} (pid ${pid})`);
      process.kill(pid, name === 'nginx' ? 'SIGQUIT' : 'SIGTERM');
    }
  }
  rmSync(config.paths.stateFile, { force: true });
  log('Stack stopped.');
}

function status() {
  const config = loadStackConfig();
  const state = readState(config.paths.stateFile);
  if (!state || !isAlive(state.launcherPid)) {
    log('Not running.');
    process.exitCode = 1;
    return;
  }
  log(`Running at ${state.url}/ (launcher pid ${state.launcherPid})`);
  for (const [name, pid] of Object.entries(state.services)) log(`  ${name.padEnd(9)} pid ${pid} ${isAlive(pid) ? 'running' : 'NOT RUNNING'}`);
}

function reset() {
  const config = loadStackConfig();
  const state = readState(config.paths.stateFile);
  if (state && isAlive(state.launcherPid)) {
    console.error('The stack is running; stop it first ("./stack down").');
    process.exit(1);
  }
  if (!process.argv.includes('--yes')) {
    console.error(`This deletes ALL data in ${config.runtimeDir} (DICOM, database, sessions, secrets). Re-run with --yes to confirm.`);
    process.exit(1);
  }
  rmSync(config.runtimeDir, { recursive: true, force: true });
  log(`Removed ${config.runtimeDir}.`);
}

/** docker-compose init step: configs, secrets and the first admin, into the shared volumes. */
async function renderCompose() {
  const outDir = process.argv[3];
  if (!outDir) throw new StackConfigError('usage: cli.ts render-compose <config-dir>');
  const config = loadStackConfig();
  const { backendEnv } = renderComposeConfigs(outDir, {
    publicUrl: config.publicUrl,
    aet: config.orthancAet,
    maxUploadSize: config.maxUploadSize,
    maxApiBodySize: config.maxApiBodySize,
    logLevel: config.logLevel,
    inferenceUrl: config.inferenceUrl,
  });
  const admin = await runBackendCli<AdminCredentials>(backendEnv, ['bootstrap-admin', config.adminEmail]);
  log(`Configuration written to ${outDir}.`);
  log(admin.created ? `First admin (shown only this once): ${admin.email} / ${admin.password}` : `Admin account: ${admin.email}`);
}

/** Builds the rebased OHIF into a folder (used by the Dockerfile). */
async function prepareOhifCommand() {
  const target = process.argv[3];
  if (!target) throw new StackConfigError('usage: cli.ts prepare-ohif <dir>');
  const config = loadStackConfig();
  await prepareOhif({ version: config.ohifVersion, ohifDir: target, cacheDir: config.paths.cache, tmpDir: config.paths.tmp, log });
}

const commands: Record<string, () => unknown> = { up, down, status, reset, 'render-compose': renderCompose, 'prepare-ohif': prepareOhifCommand };
const command = process.argv[2] ?? 'up';
const run = commands[command];
if (!run) {
  console.error(`usage: ./stack up|down|status|reset|test (got "${command}")`);
  process.exit(2);
}
try {
  await run();
} catch (error) {
  if (error instanceof StackConfigError || error instanceof ServiceStartError) {
    console.error(`\nCould not start Preview-DICOM.\n${error.message}`);
    process.exit(1);
  }
  throw error;
}
