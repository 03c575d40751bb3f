/**
 * Single sign-on with OpenID Connect (authorization code + PKCE, via openid-client). The
 * pre-authorization state (PKCE verifier, state, nonce, where to go after) travels in a sealed,
 * HTTP-only cookie, so any API instance can finish a sign-in another one started, and a callback
 * URL sent to someone else's browser finds no matching cookie (no login CSRF). People are
 * provisioned on first sign-in into the provider's default team and role.
 */
import * as oidc from 'openid-client';
import type { AuditLog } from '../../audit/audit-log.js';
import type { Clock } from '../../core/clock.js';
import { KeelError } from '../../core/errors.js';
import type { SecretBox } from '../../core/secrets.js';
import type { Membership, PeopleService, User } from '../../people/people-service.js';
import type { Store } from '../../store/store.js';
import type { Accounts } from '../accounts.js';
import type { Session, SessionService } from '../sessions.js';
import type { TenantService } from '../tenants.js';
import type { SsoProvider, SsoProviderStore } from './provider-store.js';

export const OIDC_COOKIE = 'keel_oidc';
const PENDING_MS = 10 * 60_000;

interface Pending {
  provider: string;
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
  expires: number;
}

export interface OidcSignedIn {
  token: string;
  session: Session;
  user: User;
  memberships: Membership[];
  provisioned: boolean;
  returnTo: string;
}

/** Only paths on this server: `//evil.example` and `https://…` would make Keel an open redirect. */
export function safeReturnTo(v: string | undefined): string {
  if (!v || !v.startsWith('/') || v.startsWith('//') || v.startsWith('/\\') || /[\r\n]/.test(v)) return '/';
  return v;
}

function isLoopback(url: URL): boolean {
  return ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(url.hostname);
}

export interface OidcDeps {
  providers: SsoProviderStore;
  people: PeopleService;
  accounts: Accounts;
  sessions: SessionService;
  tenants: TenantService;
  secrets: SecretBox;
  audit: AuditLog;
  store: Store;
  clock: Clock;
}

export class OidcSignIn {
  private readonly configs = new Map<string, { config: oidc.Configuration; updatedAt: number }>();

  constructor(private readonly deps: OidcDeps) {}

  static redirectUri(baseUrl: string, providerId: string): string {
    return `${baseUrl.replace(/\/+$/, '')}/v1/auth/oidc/${encodeURIComponent(providerId)}/callback`;
  }

  private async configuration(p: SsoProvider): Promise<oidc.Configuration> {
    const cached = this.configs.get(p.id);
    if (cached && cached.updatedAt === p.updatedAt) return cached.config;
    const issuer = new URL(p.issuer);
    // Plain HTTP only for a provider on this machine (development, tests); anything else needs TLS.
    const insecure = issuer.protocol === 'http:' && isLoopback(issuer);
    const secret = await this.deps.providers.clientSecret(p.id);
    let config: oidc.Configuration;
    try {
      config = await oidc.discovery(issuer, p.clientId, undefined, secret ? oidc.ClientSecretBasic(secret) : oidc.None(), {
        timeout: 10,
        ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
      });
    } catch (e) {
      throw new KeelError('unavailable', `cannot reach the single sign-on provider "${p.id}" at ${p.issuer}: ${(e as Error).message}`, { retryAfterSeconds: 30 });
    }
    this.configs.set(p.id, { config, updatedAt: p.updatedAt });
    return config;
  }

  forget(providerId: string): void {
    this.configs.delete(providerId);
  }

  /** Where to send the browser, and the sealed cookie that must come back with it. */
  async begin(providerId: string, baseUrl: string, returnTo: string | undefined): Promise<{ url: string; cookie: string }> {
    const p = await this.deps.providers.require(providerId);
    const config = await this.configuration(p);
    const pending: Pending = {
      provider: p.id,
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      verifier: oidc.randomPKCECodeVerifier(),
      returnTo: safeReturnTo(returnTo),
      expires: this.deps.clock.now() + PENDING_MS,
    };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: OidcSignIn.redirectUri(baseUrl, p.id),
      scope: p.scopes,
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    return { url: url.href, cookie: this.deps.secrets.seal(JSON.stringify(pending)) };
  }

  private openPending(cookie: string | undefined, providerId: string): Pending {
    if (!cookie) throw new KeelError('bad_request', 'no sign-in in progress in this browser (the keel_oidc cookie is missing); start again');
    let pending: Pending;
    try {
      pending = JSON.parse(this.deps.secrets.open(cookie)) as Pending;
    } catch {
      throw new KeelError('bad_request', 'the sign-in cookie is not valid; start again');
    }
    if (pending.provider !== providerId) throw new KeelError('bad_request', 'the sign-in was started with another provider; start again');
    if (pending.expires < this.deps.clock.now()) throw new KeelError('bad_request', 'the sign-in took longer than 10 minutes; start again');
    return pending;
  }

  async complete(input: { providerId: string; baseUrl: string; callbackUrl: URL; cookie: string | undefined; ip: string; userAgent: string; requestId: string }): Promise<OidcSignedIn> {
    const fail = async (reason: string, error: KeelError): Promise<never> => {
      await this.deps.audit.record({
        actor: 'anonymous',
        action: 'auth.sign_in',
        tenant: '',
        target: `oidc/${input.providerId}`,
        after: { method: `oidc:${input.providerId}`, reason },
        sourceIp: input.ip,
        requestId: input.requestId,
        ok: false,
      });
      throw error;
    };
    const p = await this.deps.providers.require(input.providerId);
    const idpError = input.callbackUrl.searchParams.get('error');
    if (idpError) {
      const desc = input.callbackUrl.searchParams.get('error_description') ?? '';
      return fail(`provider error ${idpError}`, new KeelError('unauthorized', `the provider refused the sign-in: ${idpError}${desc ? ` (${desc.slice(0, 200)})` : ''}`));
    }
    const pending = this.openPending(input.cookie, p.id);
    const config = await this.configuration(p);
    let claims: oidc.IDToken | undefined;
    let accessToken: string;
    try {
      const tokens = await oidc.authorizationCodeGrant(config, input.callbackUrl, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      claims = tokens.claims();
      accessToken = tokens.access_token;
    } catch (e) {
      this.forget(p.id);
      return fail('code exchange failed', new KeelError('unauthorized', `the sign-in could not be completed with "${p.id}": ${(e as Error).message}`));
    }
    if (!claims) return fail('no id token', new KeelError('unauthorized', 'the provider returned no ID token'));
    let email = typeof claims.email === 'string' ? claims.email : undefined;
    let verified = claims.email_verified === true;
    let name = typeof claims.name === 'string' ? claims.name : undefined;
    if (!email) {
      const info = await oidc.fetchUserInfo(config, accessToken, claims.sub).catch(() => undefined);
      email = typeof info?.email === 'string' ? info.email : undefined;
      verified = info?.email_verified === true;
      name ??= typeof info?.name === 'string' ? info.name : undefined;
    }
    if (!email) return fail('no email claim', new KeelError('unauthorized', `the provider "${p.id}" returned no email; add the "email" scope to the provider`));
    email = email.toLowerCase();

    const { user, provisioned } = await this.provision(p, claims.sub, email, verified, name).catch((e: unknown) => fail('not provisioned', e as KeelError));
    if (user.disabled) return fail('account disabled', new KeelError('unauthorized', 'this account is disabled'));
    const memberships = await this.deps.people.memberships(user.id);
    if (memberships.length === 0) return fail('no team', new KeelError('forbidden', 'your account is not a member of any team; ask a team admin to add you'));
    const team = memberships.find((m) => m.tenant === p.defaultTeam)?.tenant ?? memberships[0]!.tenant;
    const { token, session } = await this.deps.sessions.create({ userId: user.id, tenant: team, method: `oidc:${p.id}`, ip: input.ip, userAgent: input.userAgent });
    await this.deps.accounts.noteSignIn(user.id, `oidc:${p.id}`, input.ip);
    return { token, session, user, memberships, provisioned, returnTo: pending.returnTo };
  }

  /** The user behind an identity: linked before, linked now by verified email, or created in the default team. */
  private async provision(p: SsoProvider, subject: string, email: string, verified: boolean, name: string | undefined): Promise<{ user: User; provisioned: boolean }> {
    const { store, people, tenants, clock } = this.deps;
    const link = await store.db.selectFrom('user_identities').selectAll().where('provider', '=', p.id).where('subject', '=', subject).executeTakeFirst();
    if (link) {
      const user = await people.byId(link.user_id);
      if (user) return { user, provisioned: false };
    }
    const existing = await people.byEmail(email);
    if (existing && !verified) {
      throw new KeelError('forbidden', `an account for ${email} exists, and the provider does not say the email is verified, so the identity is not linked to it`);
    }
    let user = existing;
    let provisioned = false;
    if (!user) {
      await tenants.ensure(p.defaultTeam);
      user = await people.upsert({ email, name: name ?? email });
      await people.setRole(p.defaultTeam, user.id, p.defaultRole);
      provisioned = true;
    }
    await store.db
      .insertInto('user_identities')
      .values({ provider: p.id, subject, user_id: user.id, email, created_at: clock.now() })
      .onConflict((oc) => oc.columns(['provider', 'subject']).doUpdateSet({ user_id: user.id, email }))
      .execute();
    return { user, provisioned };
  }
}
