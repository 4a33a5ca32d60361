import { useEffect, useState } from 'react';
import { isActiveImport, newerJob } from '../lib/imports';
import { apiFetch } from './client';
import type { ImportJob } from './types';
import { useLoad, type Loaded } from './useLoad';

export type LiveMode = 'events' | 'polling' | null;

const POLL_MS = 1000;

function parseJob(data: unknown): ImportJob | null {
  if (typeof data !== 'string') return null;
  try {
    const job = JSON.parse(data) as ImportJob;
    return job && typeof job.id === 'string' ? job : null;
  } catch {
    return null;
  }
}

/**
 * One import job, kept live while it is open or processing: Server-Sent Events from
 * /api/imports/{id}/events, or a poll every second when events fail (an expired access
 * cookie, a proxy that buffers). Reports are merged by `updatedAt`, so an older one never
 * replaces a newer one.
 */
export function useImportJob(id: string): Loaded<ImportJob> & { live: LiveMode } {
  const path = `/api/imports/${encodeURIComponent(id)}`;
  const loaded = useLoad((signal) => apiFetch<{ import: ImportJob }>(path, { signal }).then((body) => body.import), [path], 'The import could not be loaded.');
  const { setData } = loaded;
  const active = loaded.data?.id === id && isActiveImport(loaded.data.status);
  const [live, setLive] = useState<LiveMode>(null);

  useEffect(() => {
    if (!active) {
      setLive(null);
      return;
    }
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let source: EventSource | null = null;
    const accept = (job: ImportJob | null) => {
      if (!stopped && job && job.id === id) setData((current) => newerJob(current, job));
    };

    const poll = async () => {
      try {
        accept((await apiFetch<{ import: ImportJob }>(path)).import);
      } catch (error) {
        // A passing failure: try again on the next tick. The page already shows the last report.
        console.warn('import poll failed', error);
      }
      if (!stopped) timer = setTimeout(() => void poll(), POLL_MS);
    };
    const startPolling = () => {
      source?.close();
      source = null;
      if (stopped || timer !== undefined) return;
      setLive('polling');
      timer = setTimeout(() => void poll(), 0);
    };

    if (typeof EventSource === 'undefined') startPolling();
    else {
      source = new EventSource(`${path}/events`);
      source.onopen = () => {
        if (!stopped) setLive('events');
      };
      source.addEventListener('progress', (event) => accept(parseJob((event as MessageEvent).data)));
      source.addEventListener('end', (event) => {
        accept(parseJob((event as MessageEvent).data));
        source?.close();
      });
      // EventSource cannot renew the session and would retry blindly: polling through the API client can.
      source.onerror = startPolling;
    }
    return () => {
      stopped = true;
      source?.close();
      clearTimeout(timer);
    };
  }, [id, path, active, setData]);

  return { ...loaded, live };
}
