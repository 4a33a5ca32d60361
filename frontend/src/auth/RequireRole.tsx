import { Outlet } from 'react-router-dom';
import type { Role } from '../api/types';
import { useSession } from './session';

/** Pages for one role only: others get a plain explanation instead of a page of 403 errors. */
export function RequireRole({ role }: { role: Role }) {
  const { user } = useSession();
  if (user?.role !== role) {
    return (
      <section>
        <h1>Not available</h1>
        <p data-testid="role-required">This page is for {role}s only.</p>
      </section>
    );
  }
  return <Outlet />;
}
