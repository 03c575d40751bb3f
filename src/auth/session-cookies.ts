/** The cookies of a browser session: the HTTP-only session token and the script-readable CSRF token. */
import type { FastifyReply } from 'fastify';
import { CSRF_COOKIE, SESSION_COOKIE, csrfTokenFor } from './sessions.js';

export interface CookiePolicy {
  /** Add `Secure` (TLS or an https public URL). */
  secure: boolean;
  ttlMs: number;
}

export function setSessionCookies(reply: FastifyReply, token: string, policy: CookiePolicy): string {
  const maxAge = Math.floor(policy.ttlMs / 1000);
  const csrf = csrfTokenFor(token);
  void reply.setCookie(SESSION_COOKIE, token, { path: '/', httpOnly: true, sameSite: 'lax', secure: policy.secure, maxAge });
  // Readable by the UI's script so it can echo it in X-CSRF-Token (double submit + synchronizer).
  void reply.setCookie(CSRF_COOKIE, csrf, { path: '/', httpOnly: false, sameSite: 'lax', secure: policy.secure, maxAge });
  return csrf;
}

export function clearSessionCookies(reply: FastifyReply, policy: CookiePolicy): void {
  void reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax', secure: policy.secure });
  void reply.clearCookie(CSRF_COOKIE, { path: '/', sameSite: 'lax', secure: policy.secure });
}
