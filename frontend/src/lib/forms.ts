/** A whole number typed into a form, when it lies in [min, max]; null otherwise. */
export function parseWholeNumber(text: string, min: number, max: number): number | null {
  if (!/^\s*\d+\s*$/.test(text)) return null;
  const value = Number(text);
  return value >= min && value <= max ? value : null;
}

/** The one check made before asking the server: both copies of a new password agree. */
export function newPasswordProblem(password: string, repeated: string, noun = 'new passwords'): string | null {
  return password === repeated ? null : `The ${noun} do not match.`;
}

/** A `datetime-local` input value (local wall-clock time) as the ISO instant the API expects. */
export function localInputToIso(value: string): string | undefined {
  if (!value.trim()) return undefined;
  // Without a zone, a date-time string is read as local time, which is what the user typed.
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** Page numbers in addresses are 1-based and forgiving: anything odd means the first page. */
export function pageFromParam(value: string | null): number {
  const page = Number(value);
  return Number.isInteger(page) && page >= 1 ? page : 1;
}
