import { Outlet } from 'react-router-dom';
import type { Role } from '../api/types';
import { useSession } from './session';

const plural: Record<Role, string> = { admin: 'admins', researcher: 'researchers', radiologist: 'radiologists' };

/** Pages for some roles only: others get a plain explanation instead of a page of 403 errors. */
export function RequireRole({ role }: { role: Role | Role[] }) {
  const { user } = useSession();
  const allowed = Array.isArray(role) ? role : [role];
  if (!user || !allowed.includes(user.role)) {
    return (
      <section>
        <h1>Not available</h1>
        <p data-testid="role-required">This page is for {allowed.map((r) => plural[r]).join(' and ')} only.</p>
      </section>
    );
  }
  return <Outlet />;
}
