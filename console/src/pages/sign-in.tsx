/** Sign in with a password (POST /v1/auth/sign-in), or with single sign-on when a provider is set up. */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, post } from '../api';
import { Field } from '../ui';

export function SignIn({ onSignedIn }: { onSignedIn(): void | Promise<void> }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [team, setTeam] = useState(new URLSearchParams(location.search).get('team') ?? '');
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [providers, setProviders] = useState<{ id: string; display_name: string; login_url: string }[]>([]);
  useEffect(() => {
    document.title = 'Sign in · Keel';
    get('/v1/auth/providers')
      .then((r) => setProviders(r.providers ?? []))
      .catch(() => setProviders([]));
  }, []);
  return (
    <section class="sign-in">
      <h1>Sign in to Keel</h1>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          try {
            await post('/v1/auth/sign-in', { email, password, ...(team ? { team } : {}) });
            await onSignedIn();
          } catch (err) {
            setError(err instanceof ApiError ? err : new ApiError(0, 'error', String(err)));
          } finally {
            setBusy(false);
          }
        }}
      >
        <Field label="Email" name="email" type="email" value={email} onInput={setEmail} error={error} required autocomplete="username" />
        <Field label="Password" name="password" type="password" value={password} onInput={setPassword} error={error} required autocomplete="current-password" />
        <Field label="Team (optional)" name="team" value={team} onInput={setTeam} error={error} />
        {error && !error.field('email') && !error.field('password') && !error.field('team') ? (
          <p class="error" role="alert">
            {error.message}
          </p>
        ) : null}
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
      </form>
      {providers.length ? (
        <p>
          Or sign in with{' '}
          {providers.map((p) => (
            <a class="button" href={`${p.login_url}?return_to=${encodeURIComponent('/now')}`}>
              {p.display_name}
            </a>
          ))}
        </p>
      ) : null}
    </section>
  );
}
