import { useCallback, useEffect, useState, type DependencyList, type Dispatch, type SetStateAction } from 'react';
import { messageOf } from './client';

export type Loaded<T> = {
  data: T | null;
  error: string | null;
  loading: boolean;
  /** Loads again (after a change the page made), keeping the current data on screen meanwhile. */
  reload: () => void;
  /** Puts a change the server already confirmed on screen without loading again. */
  setData: Dispatch<SetStateAction<T | null>>;
};

/** Loads what a page shows, again whenever `deps` change; a stale answer never overwrites a newer one. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: DependencyList, failure = 'Could not load this page.'): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    load(controller.signal).then(
      (next) => {
        if (controller.signal.aborted) return;
        setData(next);
        setError(null);
        setLoading(false);
      },
      (caught: unknown) => {
        if (controller.signal.aborted) return;
        setError(messageOf(caught, failure));
        setLoading(false);
      },
    );
    return () => controller.abort();
    // `load` is a fresh closure each render; `deps` says when it means something new.
  }, [...deps, version]);

  const reload = useCallback(() => setVersion((v) => v + 1), []);
  return { data, error, loading, reload, setData };
}
