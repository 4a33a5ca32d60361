import { useEffect, useRef } from 'react';
import { isActiveJob, mergeJob } from '../lib/segmentation';
import { getJob, listJobs } from './segmentation';
import type { InferenceJob } from './types';
import { useLoad, type Loaded } from './useLoad';

const POLL_MS = 1000;

/**
 * A study's inference jobs, newest first. Each queued or running job is asked for again every
 * second until it ends; `onSettled` hears of each job that ends while watched (to load its result).
 */
export function useInferenceJobs(studyInstanceUid: string, onSettled: (job: InferenceJob) => void): Loaded<InferenceJob[]> {
  const loaded = useLoad((signal) => listJobs(studyInstanceUid, signal), [studyInstanceUid], 'The segmentation jobs could not be loaded.');
  const { setData } = loaded;
  const settled = useRef(onSettled);
  useEffect(() => {
    settled.current = onSettled;
  });
  // A string, so the effect restarts only when the set of active jobs changes.
  const active = (loaded.data ?? [])
    .filter(isActiveJob)
    .map((job) => job.id)
    .join(',');

  useEffect(() => {
    if (!active) return;
    const ids = active.split(',');
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      for (const id of ids) {
        try {
          const job = await getJob(id, controller.signal);
          if (controller.signal.aborted) return;
          setData((current) => mergeJob(current, job));
          if (!isActiveJob(job)) settled.current(job);
        } catch (error) {
          if (controller.signal.aborted) return;
          // A passing failure: the next tick tries again; the last report stays on screen.
          console.warn('inference job poll failed', error);
        }
      }
      if (!controller.signal.aborted) timer = setTimeout(() => void poll(), POLL_MS);
    };
    timer = setTimeout(() => void poll(), POLL_MS);
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [active, setData]);

  return loaded;
}
