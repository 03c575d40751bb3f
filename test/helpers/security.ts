/** People, sign-in and sessions over HTTP, for security tests. */
import { expect } from 'vitest';
import { http, type HttpResult } from './keel.js';

export interface SignedIn {
  cookie: string;
  csrf: string;
  body: any;
}

export function cookiesOf(res: HttpResult): Record<string, string> {
  const raw = res.headers['set-cookie'];
  const list = Array.isArray(raw) ? raw : raw ? [raw] : [];
  const out: Record<string, string> = {};
  for (const c of list) {
    const [pair] = c.split(';');
    const i = pair!.indexOf('=');
    out[pair!.slice(0, i).trim()] = pair!.slice(i + 1).trim();
  }
  return out;
}

export function setCookieHeaders(res: HttpResult): string[] {
  const raw = res.headers['set-cookie'];
  return Array.isArray(raw) ? raw : raw ? [raw] : [];
}

export async function addUser(url: string, adminKey: string, user: { email: string; name?: string; role: string; team?: string; password?: string }): Promise<any> {
  const r = await http(`${url}/v1/users`, {
    key: adminKey,
    json: { email: user.email, name: user.name ?? user.email.split('@')[0], role: user.role, ...(user.team ? { team: user.team } : {}), ...(user.password ? { password: user.password } : {}) },
  });
  expect(r.status, r.text).toBe(201);
  return r.body;
}

export async function signIn(url: string, email: string, password: string, team?: string): Promise<SignedIn> {
  const r = await http(`${url}/v1/auth/sign-in`, { json: { email, password, ...(team ? { team } : {}) } });
  expect(r.status, r.text).toBe(200);
  const c = cookiesOf(r);
  expect(c.keel_session).toBeTruthy();
  return { cookie: `keel_session=${c.keel_session}`, csrf: r.body.csrf_token, body: r.body };
}

/** A request with a session: the cookie always, the CSRF token unless `csrf: false`. */
export function asUser(s: SignedIn, options: { method?: string; json?: unknown; headers?: Record<string, string>; csrf?: boolean; body?: string } = {}) {
  return {
    ...(options.method ? { method: options.method } : {}),
    ...(options.json !== undefined ? { json: options.json } : {}),
    ...(options.body !== undefined ? { body: options.body } : {}),
    headers: { cookie: s.cookie, ...(options.csrf === false ? {} : { 'x-csrf-token': s.csrf }), ...options.headers },
  };
}
