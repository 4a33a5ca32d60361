import { NavLink, Outlet, useNavigate } from 'react-router-dom';
import { useSession } from '../auth/session';
import { visibleNavigation } from './navigation';

export function AppLayout() {
  const { user, signOut } = useSession();
  const navigate = useNavigate();
  if (!user) return null;

  const onSignOut = async () => {
    try {
      await signOut();
    } catch (error) {
      // The local session is cleared either way; an expired server session is already signed out.
      console.warn('sign-out request failed', error);
    }
    navigate('/login', { replace: true });
  };

  return (
    <div className="app">
      <header className="topbar">
        <span className="brand">Preview-DICOM</span>
        <nav aria-label="Main">
          <ul className="nav">
            {visibleNavigation(user.role).map((item) => (
              <li key={item.to}>
                {item.external ? (
                  <a href={item.to}>{item.label}</a>
                ) : (
                  <NavLink to={item.to} className={({ isActive }) => (isActive ? 'active' : undefined)}>
                    {item.label}
                  </NavLink>
                )}
              </li>
            ))}
          </ul>
        </nav>
        <div className="account">
          <span data-testid="signed-in-user" title={user.displayName}>
            {user.email} <span className="role">{user.role}</span>
          </span>
          <button type="button" className="secondary" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      {user.mustChangePassword && (
        <div className="notice" role="status" data-testid="must-change-password">
          You must change your password: this account still uses the password it was created with.
        </div>
      )}
      <main className="content">
        <Outlet />
      </main>
    </div>
  );
}
