/** Where a user whose password must change is kept until it has. */
export const CHANGE_PASSWORD_PATH = '/account/password';

/** While the server refuses everything but the password change, every other page would only show errors. */
export function mustChangePasswordFirst(user: { mustChangePassword: boolean } | null, pathname: string): boolean {
  return Boolean(user?.mustChangePassword) && pathname !== CHANGE_PASSWORD_PATH;
}
