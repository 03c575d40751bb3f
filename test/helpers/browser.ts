/**
 * A small browser for OAuth flows over plain HTTP: keeps cookies per origin and path, follows
 * redirects by hand (so tests can see each hop), and submits HTML forms.
 */
import { request } from 'undici';

interface Cookie {
  value: string;
  path: string;
}

export interface Hop {
  url: string;
  status: number;
  location?: string;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

export class Browser {
  private readonly jars = new Map<string, Map<string, Cookie>>();
  readonly hops: Hop[] = [];

  cookie(origin: string, name: string): string | undefined {
    return this.jars.get(origin)?.get(name)?.value;
  }

  setCookie(origin: string, name: string, value: string, path = '/'): void {
    let jar = this.jars.get(origin);
    if (!jar) this.jars.set(origin, (jar = new Map()));
    jar.set(name, { value, path });
  }

  private cookieHeader(url: URL): string | undefined {
    const jar = this.jars.get(url.origin);
    if (!jar) return undefined;
    const pairs = [...jar.entries()].filter(([, c]) => url.pathname.startsWith(c.path)).map(([n, c]) => `${n}=${c.value}`);
    return pairs.length ? pairs.join('; ') : undefined;
  }

  private store(url: URL, setCookie: string | string[] | undefined): void {
    for (const sc of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
      const [pair, ...attrs] = sc.split(';').map((s) => s.trim());
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i);
      const value = pair!.slice(i + 1);
      let path = '/';
      let expired = false;
      for (const a of attrs) {
        const [k, v] = a.split('=');
        if (k!.toLowerCase() === 'path' && v) path = v;
        if (k!.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
        if (k!.toLowerCase() === 'expires' && v && Date.parse(v) < Date.now()) expired = true;
      }
      let jar = this.jars.get(url.origin);
      if (!jar) this.jars.set(url.origin, (jar = new Map()));
      if (expired || value === '') jar.delete(name);
      else jar.set(name, { value, path });
    }
  }

  async fetch(url: string, options: { method?: string; form?: Record<string, string> } = {}): Promise<Hop> {
    const u = new URL(url);
    const headers: Record<string, string> = {};
    const cookie = this.cookieHeader(u);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (options.form) {
      body = new URLSearchParams(options.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const res = await request(url, { method: (options.method ?? (body ? 'POST' : 'GET')) as 'GET', headers, ...(body ? { body } : {}) });
    const text = await res.body.text();
    this.store(u, res.headers['set-cookie']);
    const location = res.headers.location ? new URL(String(res.headers.location), url).href : undefined;
    const hop: Hop = { url, status: res.statusCode, body: text, headers: res.headers, ...(location ? { location } : {}) };
    this.hops.push(hop);
    return hop;
  }

  /** Follows redirects until an answer that is not one, or until `stop` says so. */
  async follow(url: string, stop: (hop: Hop) => boolean = () => false, options: { method?: string; form?: Record<string, string> } = {}): Promise<Hop> {
    let hop = await this.fetch(url, options);
    for (let i = 0; i < 20 && hop.location && [301, 302, 303, 307, 308].includes(hop.status) && !stop(hop); i++) hop = await this.fetch(hop.location);
    return hop;
  }
}

/** The first form of a page: where it posts and its fields (hidden ones filled in). */
export function parseForm(html: string, base: string): { action: string; fields: Record<string, string> } {
  const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) throw new Error(`no form in page: ${html.slice(0, 300)}`);
  const fields: Record<string, string> = {};
  for (const m of form[2]!.matchAll(/<input([^>]*)>/gi)) {
    const name = /name="([^"]*)"/.exec(m[1]!)?.[1];
    const value = /value="([^"]*)"/.exec(m[1]!)?.[1] ?? '';
    if (name) fields[name] = value.replace(/&amp;/g, '&');
  }
  return { action: new URL(form[1]!.replace(/&amp;/g, '&'), base).href, fields };
}
