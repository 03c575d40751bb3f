/**
 * Who sees the full `/metrics` (labels naming tenants, SLOs, services and paged people): a scrape
 * with the metrics token (`security.metrics.token`, `KEEL_METRICS_TOKEN`) as its bearer, the
 * convention Prometheus's `authorization` scrape setting follows, or a system admin's key or
 * session. Everyone else, anonymous or a team's credential, gets the public exposition
 * (public-metrics.ts). A bearer that is neither the token nor a valid key is a 401, so a
 * misconfigured scrape shows as a failed target instead of silently losing the labels.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Authenticator, AuthRequest } from '../api/server.js';
import { KeelError } from '../core/errors.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function metricsAccess(deps: { token?: string | undefined; auth: Authenticator }): (req: AuthRequest) => Promise<boolean> {
  const expected = deps.token ? digest(deps.token) : undefined;
  return async (req) => {
    const header = req.headers.authorization;
    const bearer = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
    // Equal-length digests: the comparison takes as long whatever the presented token is.
    if (expected && bearer && timingSafeEqual(digest(bearer), expected)) return true;
    try {
      return (await deps.auth.authenticate(req))?.superuser === true;
    } catch (e) {
      if (e instanceof KeelError && e.code === 'unauthorized') {
        throw new KeelError('unauthorized', 'the bearer is neither the metrics token (security.metrics.token) nor a valid API key; scrape without credentials for the metrics that name no one');
      }
      throw e;
    }
  };
}
