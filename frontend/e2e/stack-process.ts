// Starts the real stack exactly as `./stack up` does (same launcher), in a temporary
// runtime folder on free loopback ports, and stops it again.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findFreePorts } from '../../infra/src/ports.js';

export const repoRoot = resolve(import.meta.dirname, '../..');

export type StackProcess = {
  child: ChildProcess;
  output: () => string;
  url: string;
  runtimeDir: string;
  env: Record<string, string>;
  exited: Promise<number | null>;
};

export async function stackEnvironment(runtimeDir = mkdtempSync(join(tmpdir(), 'preview-dicom-e2e-'))): Promise<Record<string, string>> {
  const [http, backend, orthancHttp, orthancDicom, redis, inference] = await findFreePorts(6);
  return {
    PD_RUNTIME_DIR: runtimeDir,
    // The OHIF tarball is cached beside the repository's own runtime, not downloaded per run.
    PD_CACHE_DIR: join(repoRoot, 'runtime/cache'),
    PD_HTTP_PORT: String(http),
    PD_BACKEND_PORT: String(backend),
    PD_ORTHANC_HTTP_PORT: String(orthancHttp),
    PD_ORTHANC_DICOM_PORT: String(orthancDicom),
    PD_REDIS_PORT: String(redis),
    PD_INFERENCE_PORT: String(inference),
    PD_ADMIN_EMAIL: 'first.admin@e2e.test',
  };
}

/** Spawns the launcher and resolves once it prints READY (or rejects with its output). */
export function launchStack(env: Record<string, string>, timeoutMs = 480_000): Promise<StackProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'infra/src/cli.ts', 'up'], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`stack not ready after ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = () => {
      if (!/^READY$/m.test(output)) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolvePromise({ child, output: () => output, url: `http://localhost:${env.PD_HTTP_PORT}`, runtimeDir: env.PD_RUNTIME_DIR!, env, exited });
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`launcher exited with code ${code} before READY:\n${output}`));
    });
  });
}

export function printedAdminPassword(output: string): string | null {
  return output.match(/password: (\S+)/)?.[1] ?? null;
}

export function servicePids(runtimeDir: string): Record<string, number> {
  return (JSON.parse(readFileSync(join(runtimeDir, 'stack.json'), 'utf8')) as { services: Record<string, number> }).services;
}

export const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Stops a launched stack (if still running) and removes its temporary runtime folder. */
export async function stopStack(stack: StackProcess | undefined, env: Record<string, string> | undefined): Promise<void> {
  if (stack && stack.child.exitCode === null) {
    stack.child.kill('SIGTERM');
    await stack.exited;
  }
  if (env?.PD_RUNTIME_DIR) rmSync(env.PD_RUNTIME_DIR, { recursive: true, force: true });
}
