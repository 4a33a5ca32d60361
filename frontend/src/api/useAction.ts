import { useCallback, useState } from 'react';
import { messageOf } from './client';

export type Action = {
  busy: boolean;
  error: string | null;
  notice: string | null;
  /**
   * Runs one call to the server: clears the last error and notice, marks the form busy,
   * shows the text the action returns as the notice, or the server's message (else
   * `failure`) as the error. Resolves to whether it succeeded.
   */
  run: (action: () => Promise<string | void>, failure: string) => Promise<boolean>;
  /** For problems found before asking the server, and notices shown after other work. */
  setError: (message: string | null) => void;
  setNotice: (message: string | null) => void;
};

/** The busy/error/notice state every form and row button shares. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const run = useCallback(async (action: () => Promise<string | void>, failure: string) => {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const done = await action();
      if (typeof done === 'string') setNotice(done);
      return true;
    } catch (caught) {
      setError(messageOf(caught, failure));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);

  return { busy, error, notice, run, setError, setNotice };
}
