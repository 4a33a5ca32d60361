// Process observations: resident memory sampled like `ps -o rss= -p <pid>` (read from
// /proc/<pid>/status, the same number ps prints, without forking ps five times a second),
// and a wait until the stack's services are idle between runs.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Resident set size in bytes (`ps -o rss=` when /proc is not there). */
export function rssBytes(pid: number): number | null {
  if (existsSync('/proc/self/status')) return statusField(pid, 'VmRSS');
  try {
    return Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim()) * 1024;
  } catch {
    return null;
  }
}

export type RssTrace = {
  /** Highest sampled RSS. */
  peakBytes: number;
  startBytes: number;
  endBytes: number;
  /** The kernel's high-water mark (VmHWM) before the reset, and at the end. */
  highWaterBeforeBytes: number | null;
  highWaterAfterBytes: number | null;
  /** Whether the high-water mark was reset at the start: then highWaterAfterBytes is the exact peak of this window (nothing slips between samples). */
  highWaterReset: boolean;
  intervalMs: number;
  samples: [number, number][];
};

/** Resets the kernel's peak-RSS counter of a process (`echo 5 > /proc/<pid>/clear_refs`); touches nothing else. */
function resetHighWater(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * Samples a process's RSS every `intervalMs` until stopped (samples are [ms since start, bytes]),
 * and resets the kernel's high-water mark at the start so that its value at the end is the exact
 * peak of the window.
 */
export function sampleRss(pid: number, intervalMs = 200): { stop: () => RssTrace } {
  const t0 = performance.now();
  const samples: [number, number][] = [];
  const highWaterBeforeBytes = statusField(pid, 'VmHWM');
  const highWaterReset = resetHighWater(pid);
  const take = () => {
    const rss = rssBytes(pid);
    if (rss !== null) samples.push([Math.round(performance.now() - t0), rss]);
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      const values = samples.map((s) => s[1]);
      return {
        peakBytes: Math.max(...values),
        startBytes: values[0] ?? 0,
        endBytes: values[values.length - 1] ?? 0,
        highWaterBeforeBytes,
        highWaterAfterBytes: statusField(pid, 'VmHWM'),
        highWaterReset,
        intervalMs,
        samples,
      };
    },
  };
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** Parent pid and CPU ticks (utime + stime, all threads) from /proc/<pid>/stat; null when the process is gone. */
function procStat(pid: number | string): { ppid: number; ticks: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

const cpuTicks = (pid: number): number | null => procStat(pid)?.ticks ?? null;

/** Direct children of `pid` (an nginx master's workers). Children that exit meanwhile are lost. */
function childPids(pid: number): number[] {
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry) && procStat(entry)?.ppid === pid).map(Number);
}

/**
 * CPU time (user + system, every thread) of a process and its direct children, in seconds:
 * an nginx master does no work itself, its workers do. Meant for long-lived services, since
 * children that exit meanwhile are lost. Null where /proc is not there.
 */
export function treeCpuSeconds(pid: number): number | null {
  const own = cpuTicks(pid);
  if (own === null) return null;
  return childPids(pid).reduce((ticks, child) => ticks + (cpuTicks(child) ?? 0), own) / CLOCK_TICKS;
}

/**
 * Resident memory of a process and its direct children, in bytes (nginx: the master and its
 * workers). Pages the children share with the master count once per process, so for nginx this
 * is an upper bound. Null when the process is gone or /proc is not there.
 */
export function treeRssBytes(pid: number): number | null {
  const own = statusField(pid, 'VmRSS');
  if (own === null) return null;
  return childPids(pid).reduce((bytes, child) => bytes + (statusField(child, 'VmRSS') ?? 0), own);
}

/** CPU seconds each named process tree used while `work` ran, and this process's own (the load generator). */
export async function cpuDuring<T>(pids: Record<string, number>, work: () => Promise<T>): Promise<{ result: T; cpu: Record<string, number> }> {
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, treeCpuSeconds(pid)]));
  const self = process.cpuUsage();
  const result = await work();
  const used = process.cpuUsage(self);
  const cpu: Record<string, number> = { loadGenerator: (used.user + used.system) / 1e6 };
  for (const [name, pid] of Object.entries(pids)) {
    const after = treeCpuSeconds(pid);
    if (after !== null && before[name] !== null) cpu[name] = after - before[name]!;
  }
  return { result, cpu };
}

/**
 * Waits until every process uses under `threshold` of one core for two consecutive 500 ms
 * windows (background work of the previous run — registry sync, Orthanc's stable-study
 * events — then does not bleed into the next measurement). Gives up after `maxMs`.
 */
export async function waitQuiet(pids: number[], options: { threshold?: number; maxMs?: number } = {}): Promise<{ waitedMs: number; quiet: boolean }> {
  if (!existsSync('/proc/self/stat')) {
    await new Promise((r) => setTimeout(r, 2_000));
    return { waitedMs: 2_000, quiet: true };
  }
  const threshold = options.threshold ?? 0.05;
  const maxMs = options.maxMs ?? 30_000;
  const t0 = Date.now();
  let calm = 0;
  let last = pids.map(cpuTicks);
  while (Date.now() - t0 < maxMs) {
    await new Promise((r) => setTimeout(r, 500));
    const now = pids.map(cpuTicks);
    const busiest = Math.max(...now.map((ticks, i) => (ticks === null || last[i] === null ? 0 : (ticks - last[i]!) / CLOCK_TICKS / 0.5)));
    last = now;
    calm = busiest < threshold ? calm + 1 : 0;
    if (calm >= 2) return { waitedMs: Date.now() - t0, quiet: true };
  }
  return { waitedMs: Date.now() - t0, quiet: false };
}

/**
 * Processes (other than this one) whose command line or environment names `marker`: with the
 * benchmark's own mkdtemp folder as marker, exactly the processes it started, directly or through
 * the launcher (the launcher and backend get PD_RUNTIME_DIR, Orthanc, Redis and nginx their config paths).
 */
export function processesMentioning(marker: string): { pid: number; command: string }[] {
  if (!existsSync('/proc/self/cmdline')) return [];
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      let environ = '';
      try {
        environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      } catch {
        /* not ours to read */
      }
      if (cmdline.includes(marker) || environ.includes(marker)) found.push({ pid: Number(entry), command: cmdline });
    } catch {
      /* gone meanwhile */
    }
  }
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Stops the given processes (nginx masters with SIGQUIT, others SIGTERM), SIGKILL after `graceMs`. */
export async function stopProcesses(list: { pid: number; command: string }[], graceMs = 15_000): Promise<void> {
  for (const p of list) {
    try {
      process.kill(p.pid, /nginx: master/.test(p.command) ? 'SIGQUIT' : 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
  const deadline = Date.now() + graceMs;
  while (list.some((p) => alive(p.pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  for (const p of list) if (alive(p.pid)) process.kill(p.pid, 'SIGKILL');
}
