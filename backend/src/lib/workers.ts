import { closeStaleImports, removeStaleImportFiles } from '../imports/imports.service.js';
import { startRegistrySync, type RegistrySync } from '../studies/change-feed.js';
import { prunePendingClaims } from '../studies/pending-claims.js';
import { startInferenceWorker } from '../inference/queue.js';
import { cleanUpExports } from '../exports/exports.service.js';
import type { AppDeps } from './context.js';

export type Workers = { registry: RegistrySync; stop: () => Promise<void> };

/** Background work beside the HTTP server: the registry's Orthanc change feed, import housekeeping, the segmentation worker. */
export function startWorkers(deps: AppDeps): Workers {
  const interrupted = closeStaleImports(deps, 'startup');
  if (interrupted) deps.log.warn({ imports: interrupted }, 'imports interrupted by the last shutdown were marked failed');
  prunePendingClaims(deps.db);
  removeStaleImportFiles(deps);
  void cleanUpExports(deps, 'startup');
  const registry = startRegistrySync(deps);
  const inference = startInferenceWorker(deps);
  const idleCheck = setInterval(() => {
    closeStaleImports(deps, 'idle');
    void cleanUpExports(deps, 'periodic');
  }, 60_000);
  idleCheck.unref();
  return {
    registry,
    stop: async () => {
      clearInterval(idleCheck);
      await inference.close();
      await registry.stop();
    },
  };
}
