/**
 * Every datum the console shows and every change it makes is one call of Keel's HTTP API (the
 * same the CLI makes). Same origin: the session cookie rides along; changes echo the CSRF token
 * (the `keel_csrf` cookie) in X-CSRF-Token, as the API requires for cookie sessions.
 */

export interface FieldError {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: FieldError[] = [],
  ) {
    super(message);
  }

  /** The API's message for one form field (its details name fields by path), if any. */
  field(name: string): string | undefined {
    const d = this.details.find((x) => x.path === name || x.path.startsWith(`${name}.`) || x.path.startsWith(`${name}[`));
    if (d) return d.message;
    return this.message.startsWith(`${name}:`) || this.message.startsWith(`${name} `) ? this.message : undefined;
  }
}

function cookie(name: string): string | undefined {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/** The team the console acts on: `?team=` in the URL (links Keel sends carry it), else the session's. */
export function teamOfUrl(): string | undefined {
  return new URLSearchParams(location.search).get('team') ?? undefined;
}

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = cookie('keel_csrf') ?? '';
  const team = teamOfUrl();
  if (team) headers['x-keel-team'] = team;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch {
    throw new ApiError(0, 'unreachable', 'Keel did not answer (network down?); nothing was lost, try again');
  }
  const text = await res.text();
  let json: any = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = json?.error;
    if (res.status === 401 && !path.startsWith('/v1/auth/')) window.dispatchEvent(new CustomEvent('keel:signed-out'));
    throw new ApiError(
      res.status,
      e?.code ?? 'error',
      e?.message ?? `${res.status} ${res.statusText}`,
      Array.isArray(e?.details) ? e.details.map((d: any) => ({ path: Array.isArray(d.path) ? d.path.join('.') : String(d.path ?? ''), message: String(d.message ?? '') })) : [],
    );
  }
  return (json ?? text) as T;
}

export const get = <T = any>(path: string) => api<T>('GET', path);
export const post = <T = any>(path: string, body: unknown = {}) => api<T>('POST', path, body);
export const put = <T = any>(path: string, body: unknown = {}) => api<T>('PUT', path, body);
export const patch = <T = any>(path: string, body: unknown = {}) => api<T>('PATCH', path, body);
export const del = <T = any>(path: string) => api<T>('DELETE', path);

export function qs(params: Record<string, string | number | undefined | null>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

export interface Session {
  kind: 'user' | 'key';
  user?: { id: string; email: string; name: string };
  team: string;
  role?: string;
  teams?: { team: string; role: string }[];
  permissions: string[];
}
