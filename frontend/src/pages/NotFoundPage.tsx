import { Link } from 'react-router-dom';

export function NotFoundPage() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is no page at this address. Go to <Link to="/studies">Studies</Link> or <Link to="/status">System status</Link>.
      </p>
    </section>
  );
}
