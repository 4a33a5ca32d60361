import type { ReactNode } from 'react';

/** One labelled form control; `id` is the control's, so the label points at it. */
export function Field({ id, label, size, children }: { id: string; label: string; size?: 'grow' | 'narrow'; children: ReactNode }) {
  const className = size === 'grow' ? 'field grow' : size === 'narrow' ? 'field narrow-field' : 'field';
  return (
    <div className={className}>
      <label htmlFor={id}>{label}</label>
      {children}
    </div>
  );
}

/** A form's submit button, which says what is happening while the form is busy. */
export function SubmitButton({ busy, label, busyLabel }: { busy: boolean; label: string; busyLabel: string }) {
  return (
    <button type="submit" disabled={busy}>
      {busy ? busyLabel : label}
    </button>
  );
}

/** A required password box with its label; `autoComplete` tells password managers which password it is. */
export function PasswordField({
  id,
  label,
  autoComplete,
  value,
  onChange,
}: {
  id: string;
  label: string;
  autoComplete: 'current-password' | 'new-password';
  value: string;
  onChange: (value: string) => void;
}) {
  return (
    <Field id={id} label={label}>
      <input id={id} type="password" autoComplete={autoComplete} required value={value} onChange={(e) => onChange(e.target.value)} />
    </Field>
  );
}
