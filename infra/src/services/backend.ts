import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../config.js';
import { ManagedProcess, ServiceStartError, waitUntilHealthy } from '../process.js';

const execFileAsync = promisify(execFile);
const backendDir = resolve(repoRoot, 'backend');

export type BackendOptions = {
  port: number;
  env: Record<string, string>;
  logDir: string;
  startTimeoutMs: number;
};

/** The backend's environment, built from the stack settings (the backend reads it through its own config module). */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: process.env.NODE_ENV ?? 'production', ...env };
}

/** Runs a backend CLI command (migrations, first admin) and returns its JSON answer. */
export async function runBackendCli<T>(env: Record<string, string>, args: string[]): Promise<T> {
  try {
    const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: backendDir, env: childEnv(env), timeout: 60_000 });
    return JSON.parse(stdout.trim().split('\n').pop() ?? 'null') as T;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new ServiceStartError('backend', `"cli.ts ${args[0]}" failed: ${stderr || (error as Error).message}`);
  }
}

/**
 * V8's young generation grows to 16 MB semi-spaces by default, and what dcmjs's header parsing
 * leaves behind was collected late: a 1 GB de-identified export peaked at 365–424 MB. With 4 MB
 * semi-spaces it peaked at 281–297 MB in four runs, and de-identified exports ran ~25 % slower.
 * --heap-growing-percent=50 lets the old generation grow by half its live size before the next
 * full collection, where after a memory-reducing GC V8 allowed only ~10 %, so full collections
 * came every 100–170 ms during imports; with it the same export peaked at 244–249 MB in four
 * runs, kernel peaks up to 256 MB (bench/HISTORY.md, 2026-12-06 and 2026-12-07).
 * The Dockerfile's CMD and `npm start` pass the same flags.
 */
export const BACKEND_NODE_FLAGS = ['--max-semi-space-size=4', '--heap-growing-percent=50'];

export async function startBackend(options: BackendOptions): Promise<ManagedProcess> {
  const proc = new ManagedProcess({
    name: 'backend',
    command: process.execPath,
    args: [...BACKEND_NODE_FLAGS, '--import', 'tsx', 'src/server.ts'],
    cwd: backendDir,
    env: childEnv(options.env),
    logFile: join(options.logDir, 'backend.log'),
  });
  await waitUntilHealthy(
    proc,
    async () => {
      const response = await fetch(`http://127.0.0.1:${options.port}/api/health/live`, { signal: AbortSignal.timeout(2_000) });
      await response.body?.cancel();
      return response.ok;
    },
    options.startTimeoutMs,
  );
  return proc;
}
