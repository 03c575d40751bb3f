/** Settings for admins: people and roles, API keys (shown once), integrations and their keys. */
import { useState } from 'preact/hooks';
import { ApiError, del, get, patch, post } from '../api';
import { Action, ErrorBox, Field, Loading, Page, can, useData, useSession, when } from '../ui';

const ROLES = ['viewer', 'responder', 'editor', 'admin'];
const SCOPES = ['read', 'respond', 'write', 'admin', 'ingest'];

export function Settings() {
  const s = useSession();
  return (
    <Page title="Settings">
      <People />
      {can(s, 'keys:manage') ? <Keys /> : null}
      {can(s, 'integrations:manage') ? <Integrations /> : null}
    </Page>
  );
}

function People() {
  const users = useData(() => get('/v1/users'), [], null);
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState('responder');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const list = (users.data?.users ?? []) as any[];
  return (
    <section>
      <h2>People and roles</h2>
      <ErrorBox error={users.error} />
      {!users.data ? (
        <Loading what="people" />
      ) : (
        <div class="scroll" tabIndex={0} role="region" aria-label="Scrollable table">
          <table>
            <thead>
              <tr>
                <th scope="col">Person</th>
                <th scope="col">Role</th>
              </tr>
            </thead>
            <tbody>
              {list.map((u) => (
                <tr>
                  <td>
                    {u.name} <span class="muted">{u.email}</span>
                  </td>
                  <td>
                    <select
                      aria-label={`role of ${u.email}`}
                      value={u.role}
                      onChange={async (e) => {
                        await patch(`/v1/users/${encodeURIComponent(u.id)}`, { role: (e.target as HTMLSelectElement).value }).catch((err) => setError(err));
                        await users.reload();
                      }}
                    >
                      {ROLES.map((r) => (
                        <option value={r}>{r}</option>
                      ))}
                    </select>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form
        class="inline"
        onSubmit={async (e) => {
          e.preventDefault();
          try {
            await post('/v1/users', { email, name, role, ...(password ? { password } : {}) });
            setEmail('');
            setName('');
            setPassword('');
            setError(undefined);
            await users.reload();
          } catch (err) {
            setError(err as ApiError);
          }
        }}
      >
        <Field idPrefix="person-" label="Email" name="email" value={email} onInput={setEmail} error={error} />
        <Field idPrefix="person-" label="Name" name="name" value={name} onInput={setName} error={error} />
        <label>
          Role{' '}
          <select value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value)}>
            {ROLES.map((r) => (
              <option value={r}>{r}</option>
            ))}
          </select>
        </label>
        <Field idPrefix="person-" label="Password (optional)" name="password" type="password" value={password} onInput={setPassword} error={error} autocomplete="new-password" />
        <button type="submit">Add person</button>
        {error && !error.field('email') && !error.field('name') && !error.field('password') ? (
          <span class="field-error" role="alert">
            {error.message}
          </span>
        ) : null}
      </form>
    </section>
  );
}

function Keys() {
  const keys = useData(() => get('/v1/keys'), [], null);
  const [name, setName] = useState('');
  const [scope, setScope] = useState('read');
  const [created, setCreated] = useState<string | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  return (
    <section>
      <h2>API keys</h2>
      <ErrorBox error={keys.error} />
      {created ? (
        <p class="secret" role="status">
          New key (shown once, copy it now): <code data-testid="new-key">{created}</code>
        </p>
      ) : null}
      {!keys.data ? (
        <Loading what="keys" />
      ) : (
        <ul class="plain">
          {keys.data.keys.map((k: any) => (
            <li>
              <code>{k.prefix}</code> {k.name ?? ''}{' '}
              <span class="muted">
                {(k.scopes ?? []).join(', ')} · created {when(k.created_at)}
              </span>{' '}
              <Action label="Revoke" kind="danger" run={() => del(`/v1/keys/${encodeURIComponent(k.id)}`)} onDone={() => void keys.reload()} />
            </li>
          ))}
        </ul>
      )}
      <form
        class="inline"
        onSubmit={async (e) => {
          e.preventDefault();
          try {
            const r = await post('/v1/keys', { name, scopes: [scope] });
            setCreated(r.key);
            setName('');
            setError(undefined);
            await keys.reload();
          } catch (err) {
            setError(err as ApiError);
          }
        }}
      >
        <Field idPrefix="key-" label="Key name" name="name" value={name} onInput={setName} error={error} />
        <label>
          Scope{' '}
          <select value={scope} onChange={(e) => setScope((e.target as HTMLSelectElement).value)}>
            {SCOPES.map((r) => (
              <option value={r}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit">Create key</button>
        {error && !error.field('name') ? (
          <span class="field-error" role="alert">
            {error.message}
          </span>
        ) : null}
      </form>
    </section>
  );
}

function Integrations() {
  const list = useData(() => get('/v1/integrations'), [], null);
  const [type, setType] = useState('alertmanager');
  const [service, setService] = useState('');
  const [created, setCreated] = useState<any>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  return (
    <section>
      <h2>Integrations</h2>
      <ErrorBox error={list.error} />
      {created ? (
        <p class="secret" role="status">
          Integration key (shown once): <code>{created.key}</code>
          {created.url ? (
            <>
              {' '}
              · URL <code>{created.url}</code>
            </>
          ) : null}
        </p>
      ) : null}
      {!list.data ? (
        <Loading what="integrations" />
      ) : (
        <ul class="plain">
          {list.data.integrations.map((i: any) => (
            <li>
              <strong>{i.type}</strong> {i.name ?? ''} {i.service ? <span class="muted">→ {i.service}</span> : null} <code>{i.prefix ?? ''}</code>{' '}
              <Action label="Revoke" kind="danger" run={() => del(`/v1/integrations/${encodeURIComponent(i.id)}`)} onDone={() => void list.reload()} />
            </li>
          ))}
        </ul>
      )}
      <form
        class="inline"
        onSubmit={async (e) => {
          e.preventDefault();
          try {
            setCreated(await post('/v1/integrations', { type, ...(service ? { service } : {}) }));
            setError(undefined);
            await list.reload();
          } catch (err) {
            setError(err as ApiError);
          }
        }}
      >
        <label>
          Type{' '}
          <select value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value)}>
            {['alertmanager', 'events-v2', 'heartbeat'].map((r) => (
              <option value={r}>{r}</option>
            ))}
          </select>
        </label>
        <Field idPrefix="integration-" label="Service (optional)" name="service" value={service} onInput={setService} error={error} />
        <button type="submit">Add integration</button>
        {error && !error.field('service') ? (
          <span class="field-error" role="alert">
            {error.message}
          </span>
        ) : null}
      </form>
    </section>
  );
}
