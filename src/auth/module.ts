/**
 * Auth: tenants and API keys, people's sign-in (passwords, sessions, single sign-on), their roles, and stored
 * secrets' encryption. Besides routes it supplies the server's Authenticator, which every request
 * of every domain goes through.
 */
import { Counter } from 'prom-client';
import type { Authenticator } from '../api/server.js';
import type { CoreContext, KeelModule } from '../module/context.js';
import { Accounts } from './accounts.js';
import { createAuthenticator } from './authenticator.js';
import { authRoutes } from './routes.js';
import { OidcSignIn } from './oidc/oidc-sign-in.js';
import { oidcRoutes } from './oidc/oidc-routes.js';
import { SsoProviderStore } from './oidc/provider-store.js';
import { PasswordSignIn } from './password-sign-in.js';
import { secretRoutes } from './secret-routes.js';
import { SecretRotation } from './secret-rotation.js';
import { sessionRoutes } from './session-routes.js';
import { SessionService } from './sessions.js';
import { SignInThrottle } from './sign-in-throttle.js';
import { userRoutes } from './user-routes.js';
import type { CookiePolicy } from './session-cookies.js';

export interface AuthModule extends KeelModule {
  authenticator: Authenticator;
  sessions: SessionService;
  accounts: Accounts;
  rotation: SecretRotation;
}

export function authModule(ctx: CoreContext): AuthModule {
  const { config, store, clock, people, audit } = ctx;
  const sec = config.security;
  const sessions = new SessionService(store, people, clock, { ttlMs: sec.sessions.ttl, idleMs: sec.sessions.idleTimeout });
  const accounts = new Accounts(store, people, sessions, clock, { minPasswordLength: sec.passwords.minLength, hashCost: sec.passwords.hashCost }, audit);
  const throttle = new SignInThrottle(store, clock, {
    perUser: { maxFailures: sec.signIn.maxFailuresPerUser, windowMs: sec.signIn.window, lockoutMs: sec.signIn.lockout },
    perAddress: { maxFailures: sec.signIn.maxFailuresPerAddress, windowMs: sec.signIn.window, lockoutMs: sec.signIn.lockout },
  });
  const signIns = new Counter({
    name: 'keel_sign_ins_total',
    help: 'Password sign-ins by result (success, failure, locked).',
    labelNames: ['result'] as const,
    registers: [ctx.metrics.registry],
  });
  const signIn = new PasswordSignIn({ people, accounts, sessions, throttle, audit, onResult: (r) => signIns.inc({ result: r }) });
  const cookies: CookiePolicy = {
    secure: Boolean(config.server.tls) || (sec.publicUrl?.startsWith('https:') ?? false),
    ttlMs: sec.sessions.ttl,
  };
  ctx.sealed.register({ table: 'sso_providers', key: ['id'], column: 'client_secret', description: 'single sign-on client secrets' });
  const providers = new SsoProviderStore(store, ctx.secrets, clock);
  const oidc = new OidcSignIn({ providers, people, accounts, sessions, tenants: ctx.tenants, secrets: ctx.secrets, audit, store, clock });
  const rotation = new SecretRotation(store, ctx.keyring, ctx.sealed);
  let sweeper: NodeJS.Timeout | undefined;
  return {
    name: 'auth',
    authenticator: createAuthenticator({ keys: ctx.keys, sessions, tenants: ctx.tenants }),
    sessions,
    accounts,
    rotation,
    routes: [
      ...authRoutes({ keys: ctx.keys, tenants: ctx.tenants, quotaDefaults: config.quota }),
      ...sessionRoutes({ people, tenants: ctx.tenants, accounts, sessions, signIn, cookies }),
      ...userRoutes({ people, accounts, tenants: ctx.tenants }),
      ...oidcRoutes({ providers, oidc, cookies, publicUrl: sec.publicUrl?.replace(/\/+$/, '') }),
      ...secretRoutes({ rotation }),
    ],
    start: async () => {
      sweeper = setInterval(() => {
        sessions.sweep().catch((err: unknown) => ctx.logger.warn({ err }, 'session sweep failed'));
      }, 3_600_000);
      sweeper.unref();
    },
    stop: async () => {
      if (sweeper) clearInterval(sweeper);
    },
  };
}
