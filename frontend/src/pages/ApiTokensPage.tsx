import { useState, type FormEvent } from 'react';
import { apiFetch, messageOf } from '../api/client';
import type { ApiToken, TokenScope } from '../api/types';
import { useLoad } from '../api/useLoad';
import { CopyField } from '../components/CopyField';
import { ErrorText, LoadError, StatusText } from '../components/Feedback';
import { formatDateTime, lifecycleOf } from '../lib/format';
import { parseWholeNumber } from '../lib/forms';

const scopeLabels: Record<TokenScope, string> = { read: 'Read only', 'read-write': 'Read and write' };

type CreatedToken = { token: ApiToken; secret: string };

export function ApiTokensPage() {
  const tokens = useLoad((signal) => apiFetch<{ tokens: ApiToken[] }>('/api/tokens', { signal }).then((body) => body.tokens), []);
  const [name, setName] = useState('');
  const [scope, setScope] = useState<TokenScope>('read');
  const [days, setDays] = useState('90');
  const [createError, setCreateError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<string | null>(null);

  const onCreate = async (event: FormEvent) => {
    event.preventDefault();
    const expiresInDays = parseWholeNumber(days, 1, 365);
    if (expiresInDays === null) {
      setCreateError('Expiry must be a whole number of days from 1 to 365.');
      return;
    }
    setCreating(true);
    setCreateError(null);
    setNotice(null);
    try {
      const body = await apiFetch<CreatedToken>('/api/tokens', { method: 'POST', body: { name, scope, expiresInDays } });
      setCreated(body);
      setName('');
      tokens.reload();
    } catch (caught) {
      setCreateError(messageOf(caught, 'The token could not be created.'));
    } finally {
      setCreating(false);
    }
  };

  const revoke = async (token: ApiToken) => {
    setRevoking(token.id);
    setListError(null);
    setNotice(null);
    try {
      await apiFetch(`/api/tokens/${encodeURIComponent(token.id)}`, { method: 'DELETE' });
      setNotice(`Revoked the token “${token.name}”. Programs using it can no longer sign in with it.`);
      if (created?.token.id === token.id) setCreated(null);
      tokens.reload();
    } catch (caught) {
      setListError(messageOf(caught, 'The token could not be revoked.'));
    } finally {
      setRevoking(null);
    }
  };

  return (
    <section>
      <h1>API tokens</h1>
      <p className="muted">
        Tokens let scripts and other programs use the API and DICOMweb as you. A read-only token can only read, whatever your role allows.
      </p>

      <form className="panel" data-testid="create-token-form" onSubmit={onCreate} noValidate aria-busy={creating}>
        <h2>Create a token</h2>
        <div className="form-row">
          <div className="field grow">
            <label htmlFor="token-name">Name</label>
            <input id="token-name" required maxLength={100} placeholder="e.g. nightly export script" value={name} onChange={(e) => setName(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="token-scope">Scope</label>
            <select id="token-scope" value={scope} onChange={(e) => setScope(e.target.value as TokenScope)}>
              <option value="read">{scopeLabels.read}</option>
              <option value="read-write">{scopeLabels['read-write']}</option>
            </select>
          </div>
          <div className="field narrow-field">
            <label htmlFor="token-days">Expires in (days)</label>
            <input id="token-days" type="number" inputMode="numeric" min={1} max={365} step={1} required value={days} onChange={(e) => setDays(e.target.value)} />
          </div>
          <button type="submit" disabled={creating}>
            {creating ? 'Creating…' : 'Create token'}
          </button>
        </div>
        <ErrorText message={createError} testId="create-token-error" />
      </form>

      {created && (
        <div className="panel secret-panel" data-testid="token-created">
          <h2>Token “{created.token.name}” created</h2>
          <p>
            <strong>Copy the secret now: it is shown only this once.</strong> If you lose it, revoke the token and create a new one.
          </p>
          <CopyField id="token-secret" label="Token secret" value={created.secret} testId="token-secret" />
          <p className="muted">
            Send it in the <code>Authorization</code> header as <code>Bearer {'<secret>'}</code> to <code>/api</code> and <code>/dicom-web</code>, for example{' '}
            <code>curl -H &quot;Authorization: Bearer $TOKEN&quot; {window.location.origin}/dicom-web/studies</code>.
          </p>
          <button type="button" className="secondary" onClick={() => setCreated(null)}>
            I have copied it
          </button>
        </div>
      )}

      <h2>My tokens</h2>
      <ErrorText message={listError} testId="tokens-error" />
      <StatusText message={notice} testId="tokens-notice" />
      <LoadError message={tokens.error} />
      {!tokens.data && !tokens.error && <p className="muted">Loading…</p>}
      {tokens.data && tokens.data.length === 0 && <p className="muted">You have no API tokens.</p>}
      {tokens.data && tokens.data.length > 0 && (
        <div className="table-scroll">
          <table className="table" data-testid="tokens-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Scope</th>
                <th scope="col">Starts with</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tokens.data.map((token) => {
                const state = lifecycleOf(token);
                return (
                  <tr key={token.id} data-token-id={token.id}>
                    <th scope="row">{token.name}</th>
                    <td>{scopeLabels[token.scope] ?? token.scope}</td>
                    <td>
                      <code>{token.prefix}…</code>
                    </td>
                    <td className="number">{formatDateTime(token.createdAt)}</td>
                    <td className="number">{formatDateTime(token.expiresAt)}</td>
                    <td className="number">{token.lastUsedAt ? formatDateTime(token.lastUsedAt) : 'Never'}</td>
                    <td>
                      <span className={`badge ${state.tone}`}>{state.label}</span>
                    </td>
                    <td className="actions">
                      {state.active && (
                        <button type="button" className="secondary small" disabled={revoking !== null} onClick={() => void revoke(token)}>
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
