import { NavLink, Outlet, useNavigate } from 'react-router-dom';
import { useSession } from '../auth/session';
import { navigationSections } from './navigation';

export function AppLayout() {
  const { user, signOut } = useSession();
  const navigate = useNavigate();
  if (!user) return null;
  // Until the password is changed the server refuses everything else, so there is nowhere else to go.
  const forced = user.mustChangePassword;

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
        <div className="account">
          <span data-testid="signed-in-user" title={user.displayName}>
            {user.email} <span className="role">{user.role}</span>
          </span>
          <button type="button" className="secondary" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      {forced && (
        <div className="notice" role="status" data-testid="must-change-password">
          You must change your password: this account still uses the password it was created with.
        </div>
      )}
      <div className={forced ? 'shell forced' : 'shell'}>
        {!forced && (
          <nav aria-label="Main" className="sidebar">
            {navigationSections(user.role).map((section) => {
              const headingId = section.title ? `nav-${section.title.toLowerCase()}` : undefined;
              return (
                <div key={section.title ?? 'main'} className="nav-section">
                  {section.title && (
                    <h2 className="nav-heading" id={headingId}>
                      {section.title}
                    </h2>
                  )}
                  <ul className="nav" aria-labelledby={headingId}>
                    {section.items.map((item) => (
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
                </div>
              );
            })}
          </nav>
        )}
        <main className="content">
          <Outlet />
        </main>
      </div>
    </div>
  );
}
