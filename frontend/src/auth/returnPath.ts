/** Router state RequireSession hands to /login: the page the visitor asked for. */
export type LoginRedirectState = { from: string };

/**
 * Where to go after signing in. Only a path inside this app is trusted: never another origin
 * ("//host", "/\host") and never the login page itself.
 */
/**
 * The gateway sends signed-out visitors of /viewer/ here as `?next=<original URI>`.
 * nginx cannot URL-encode, so the URI arrives raw (it may hold its own ? and &):
 * everything after `next=` is the path. An encoded one is accepted too.
 */
function nextFromQuery(search: string): string | null {
  if (!search.startsWith('?next=')) return null;
  const raw = search.slice('?next='.length);
  if (!raw.startsWith('%2F')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

export function returnPathFrom(state: unknown, search = ''): string {
  const from = (state as Partial<LoginRedirectState> | null | undefined)?.from ?? nextFromQuery(search);
  if (typeof from !== 'string' || !/^\/(?![/\\])/.test(from)) return '/';
  const pathname = from.split(/[?#]/, 1)[0];
  return pathname === '/login' ? '/' : from;
}

/** Pages served by the gateway outside this app (OHIF, the API docs) need a full page load. */
export function isOutsideDashboard(path: string): boolean {
  return /^\/(viewer|api|dicom-web)(\/|$|\?)/.test(path);
}
