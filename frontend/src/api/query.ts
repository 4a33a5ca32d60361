export type QueryValue = string | number | null | undefined;

/** `?a=1&b=x` from the given parameters, leaving out blank ones; '' when nothing is left. */
export function queryString(params: Record<string, QueryValue>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === null || value === undefined) continue;
    const text = String(value).trim();
    if (text) search.set(name, text);
  }
  const encoded = search.toString();
  return encoded ? `?${encoded}` : '';
}
