import { useState, type FormEvent } from 'react';
import { apiFetch } from '../api/client';
import type { ApiToken, TokenScope } from '../api/types';
import { useAction } from '../api/useAction';
import { useLoad } from '../api/useLoad';
import { CopyField } from '../components/CopyField';
import { DataTable, LoadStatus, RowButton } from '../components/DataTable';
import { ActionFeedback, ErrorText } from '../components/Feedback';
import { Field, SubmitButton } from '../components/Field';
import { formatDateTime, lifecycleOf } from '../lib/format';
import { parseWholeNumber } from '../lib/forms';

const scopeLabels: Record<TokenScope, string> = { read: 'Read only', 'read-write': 'Read and write' };

type CreatedToken = { token: ApiToken; secret: string };

export function ApiTokensPage() {
  const tokens = useLoad((signal) => apiFetch<{ tokens: ApiToken[] }>('/api/tokens', { signal }).then((body) => body.tokens), []);
  const [name, setName] = useState('');
  const [scope, setScope] = useState<TokenScope>('read');
  const [days, setDays] = useState('90');
  const creating = useAction();
  const [created, setCreated] = useState<CreatedToken | null>(null);
  // The notice above the list also reports revocations; creating a token clears it.
  const revoking = useAction();

  const onCreate = (event: FormEvent) => {
    event.preventDefault();
    const expiresInDays = parseWholeNumber(days, 1, 365);
    if (expiresInDays === null) {
      creating.setError('Expiry must be a whole number of days from 1 to 365.');
      return;
    }
    revoking.setNotice(null);
    void creating.run(async () => {
      const body = await apiFetch<CreatedToken>('/api/tokens', { method: 'POST', body: { name, scope, expiresInDays } });
      setCreated(body);
      setName('');
      tokens.reload();
    }, 'The token could not be created.');
  };

  const revoke = (token: ApiToken) =>
    void revoking.run(async () => {
      await apiFetch(`/api/tokens/${encodeURIComponent(token.id)}`, { method: 'DELETE' });
      if (created?.token.id === token.id) setCreated(null);
      tokens.reload();
      return `Revoked the token “${token.name}”. Programs using it can no longer sign in with it.`;
    }, 'The token could not be revoked.');

  return (
    <section>
      <h1>API tokens</h1>
      <p className="muted">
        Tokens let scripts and other programs use the API and DICOMweb as you. A read-only token can only read, whatever your role allows.
      </p>

      <form className="panel" data-testid="create-token-form" onSubmit={onCreate} noValidate aria-busy={creating.busy}>
        <h2>Create a token</h2>
        <div className="form-row">
          <Field id="token-name" label="Name" size="grow">
            <input id="token-name" required maxLength={100} placeholder="e.g. nightly export script" value={name} onChange={(e) => setName(e.target.value)} />
          </Field>
          <Field id="token-scope" label="Scope">
            <select id="token-scope" value={scope} onChange={(e) => setScope(e.target.value as TokenScope)}>
              <option value="read">{scopeLabels.read}</option>
              <option value="read-write">{scopeLabels['read-write']}</option>
            </select>
          </Field>
          <Field id="token-days" label="Expires in (days)" size="narrow">
            <input id="token-days" type="number" inputMode="numeric" min={1} max={365} step={1} required value={days} onChange={(e) => setDays(e.target.value)} />
          </Field>
          <SubmitButton busy={creating.busy} label="Create token" busyLabel="Creating…" />
        </div>
        <ErrorText message={creating.error} testId="create-token-error" />
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
      <ActionFeedback action={revoking} errorTestId="tokens-error" noticeTestId="tokens-notice" />
      <LoadStatus state={tokens} isEmpty={tokens.data?.length === 0} empty="You have no API tokens." />
      {tokens.data && tokens.data.length > 0 && (
        <DataTable testId="tokens-table" columns={['Name', 'Scope', 'Starts with', 'Created', 'Expires', 'Last used', 'Status']} actions>
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
                    <RowButton label="Revoke" disabled={revoking.busy} onClick={() => revoke(token)} />
                  )}
                </td>
              </tr>
            );
          })}
        </DataTable>
      )}
    </section>
  );
}
