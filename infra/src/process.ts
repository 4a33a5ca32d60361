import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export class ServiceStartError extends Error {
  constructor(
    readonly service: string,
    message: string,
  ) {
    super(`${service}: ${message}`);
  }
}

/** A probe failure that waiting will not fix (wrong credentials, plugin not loaded). */
export class FatalProbeError extends Error {}

export type ManagedProcessOptions = {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Signal that makes the program shut down cleanly (nginx: SIGQUIT, others: SIGTERM). */
  stopSignal?: NodeJS.Signals;
};

/** The last lines of a log file, to show why a service failed. */
export function tailFile(path: string, lines = 12): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log written)';
  }
}

/**
 * A child process in its own process group (so Ctrl-C reaches only the launcher,
 * which then stops services in order), its output appended to a log file.
 */
export class ManagedProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private stopping = false;

  constructor(readonly options: ManagedProcessOptions) {
    const logFd = openSync(options.logFile, 'a');
    this.child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', logFd, logFd],
      detached: true,
    });
    closeSync(logFd);
    this.exited = new Promise((resolvePromise) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolvePromise(this.exitInfo);
      });
      this.child.once('error', (error) => {
        this.exitInfo = { code: -1, signal: null };
        resolvePromise(this.exitInfo);
        void error;
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Asks the program to stop, then kills it if it has not exited within the grace period. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    if (!this.running || !this.pid) return;
    try {
      process.kill(this.pid, this.options.stopSignal ?? 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-this.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * Polls `probe` until it resolves true. Gives up early when the process exits, with
 * the tail of its log, so the user sees the real reason (bad config, missing file...).
 */
export async function waitUntilHealthy(proc: ManagedProcess, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (!proc.running) {
      const { code, signal } = proc.exitInfo!;
      throw new ServiceStartError(
        proc.options.name,
        `exited during start (${signal ? `signal ${signal}` : `code ${code}`}). Last lines of ${proc.options.logFile}:\n${tailFile(proc.options.logFile)}`,
      );
    }
    try {
      if (await probe()) return;
    } catch (error) {
      if (error instanceof FatalProbeError) {
        await proc.stop();
        throw new ServiceStartError(proc.options.name, error.message);
      }
      lastError = error instanceof Error ? error.message : String(error);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new ServiceStartError(
    proc.options.name,
    `not healthy after ${timeoutMs} ms${lastError ? ` (last probe error: ${lastError})` : ''}. Last lines of ${proc.options.logFile}:\n${tailFile(proc.options.logFile)}`,
  );
}
