/** Router state RequireSession hands to /login: the page the visitor asked for. */
export type LoginRedirectState = { from: string };

/**
 * Where to go after signing in. Only a path inside this app is trusted: never another origin
 * ("//host", "/\host") and never the login page itself.
 */
export function returnPathFrom(state: unknown): string {
  const from = (state as Partial<LoginRedirectState> | null | undefined)?.from;
  if (typeof from !== 'string' || !/^\/(?![/\\])/.test(from)) return '/';
  const pathname = from.split(/[?#]/, 1)[0];
  return pathname === '/login' ? '/' : from;
}
