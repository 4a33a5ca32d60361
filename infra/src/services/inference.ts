import { join } from 'node:path';
import { repoRoot } from '../config.js';
import { ManagedProcess, waitUntilHealthy } from '../process.js';

export type InferenceOptions = { port: number; logDir: string; startTimeoutMs: number };

/**
 * Starts the reference inference service (infra/inference/server.ts, MONAI Label's REST shape)
 * on 127.0.0.1; healthy once GET /info answers. Used when PD_INFERENCE_URL names no other server.
 */
export async function startInference(options: InferenceOptions): Promise<ManagedProcess> {
  const proc = new ManagedProcess({
    name: 'inference',
    command: process.execPath,
    args: ['--import', 'tsx', 'infra/inference/server.ts'],
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: process.env.NODE_ENV ?? 'production', PD_INFERENCE_HOST: '127.0.0.1', PD_INFERENCE_PORT: String(options.port) },
    logFile: join(options.logDir, 'inference.log'),
  });
  await waitUntilHealthy(
    proc,
    async () => {
      const response = await fetch(`http://127.0.0.1:${options.port}/info`, { signal: AbortSignal.timeout(2_000) });
      await response.body?.cancel();
      return response.ok;
    },
    options.startTimeoutMs,
  );
  return proc;
}
