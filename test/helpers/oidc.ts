/** A real OpenID Connect provider (the `oidc-provider` package) on a local port, and a browser sign-in through it. */
import { createServer, type Server } from 'node:http';
import Provider from 'oidc-provider';
import { freePort } from '../../src/bench/spawn-keel.js';
import { Browser, parseForm, type Hop } from './browser.js';

export interface TestIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  close(): Promise<void>;
}

/** People the provider knows: login → claims. Unknown logins get `<login>@idp.test`, verified. */
export type IdpPeople = Record<string, { email?: string; email_verified?: boolean; name?: string }>;

export async function startIdp(redirectUris: string[], people: IdpPeople = {}, clientSecret = `idp-secret-${Math.random().toString(36).slice(2)}`): Promise<TestIdp> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'keel',
        client_secret: clientSecret,
        redirect_uris: redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    findAccount: async (_ctx: unknown, id: string) => ({
      accountId: id,
      claims: async () => {
        const p = people[id] ?? {};
        return { sub: id, ...('email' in p ? (p.email ? { email: p.email } : {}) : { email: `${id}@idp.test` }), email_verified: p.email_verified ?? true, name: p.name ?? `Person ${id}` };
      },
    }),
    pkce: { required: () => true },
    cookies: { keys: ['test-cookie-signing-key'] },
    features: { devInteractions: { enabled: true } },
  });
  const server: Server = createServer(provider.callback());
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return {
    issuer,
    clientId: 'keel',
    clientSecret,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * Drives the whole flow as a browser would: Keel's login URL → the provider's login form (submitted
 * with `login`) → its consent form → back to Keel's callback. Returns the hop that answered the
 * callback (Keel's redirect, or its error).
 */
export async function browserSignIn(browser: Browser, keelUrl: string, providerId: string, login: string, returnTo = '/'): Promise<Hop> {
  const isCallback = (h: Hop) => Boolean(h.location?.startsWith(`${keelUrl}/v1/auth/oidc/${providerId}/callback`));
  let hop = await browser.follow(`${keelUrl}/v1/auth/oidc/${providerId}/login?return_to=${encodeURIComponent(returnTo)}`, isCallback);
  for (let i = 0; i < 5 && !isCallback(hop); i++) {
    if (hop.status !== 200) throw new Error(`unexpected answer from ${hop.url}: ${hop.status} ${hop.body.slice(0, 300)}`);
    const form = parseForm(hop.body, hop.url);
    if ('login' in form.fields || form.fields.prompt === 'login') {
      form.fields.login = login;
      form.fields.password = 'any password the dev provider accepts';
    }
    hop = await browser.follow(form.action, isCallback, { method: 'POST', form: form.fields });
  }
  if (!isCallback(hop)) throw new Error(`the provider did not send the browser back to Keel: ${hop.status} ${hop.url}`);
  return browser.fetch(hop.location!);
}
