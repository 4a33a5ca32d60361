import { useRef, useState } from 'react';
import { StatusText } from './Feedback';

/** A read-only value (secret, link) with a Copy button; falls back to selecting it where the clipboard API is missing. */
export function CopyField({ id, label, value, testId, compact = false }: { id: string; label: string; value: string; testId?: string; compact?: boolean }) {
  const [notice, setNotice] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);

  const onCopy = async () => {
    input.current?.select();
    try {
      // The clipboard API exists only in secure contexts (https, localhost).
      if (!window.isSecureContext || !navigator.clipboard) throw new Error('clipboard unavailable');
      await navigator.clipboard.writeText(value);
      setNotice('Copied to the clipboard.');
    } catch {
      setNotice('The text is selected: press Ctrl+C (⌘C on a Mac) to copy it.');
    }
  };

  return (
    <div className={compact ? 'copy-field compact' : 'copy-field'}>
      {/* Compact fields sit in a table whose column already says what they hold. */}
      <label htmlFor={id} className={compact ? 'visually-hidden' : undefined}>
        {label}
      </label>
      <div className="copy-row">
        <input
          id={id}
          ref={input}
          className="mono"
          readOnly
          value={value}
          spellCheck={false}
          data-testid={testId}
          onFocus={(event) => event.currentTarget.select()}
        />
        <button type="button" className="secondary" aria-label={`Copy ${label.toLowerCase()}`} onClick={() => void onCopy()}>
          Copy
        </button>
      </div>
      <StatusText message={notice} />
    </div>
  );
}
