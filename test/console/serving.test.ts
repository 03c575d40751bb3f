/**
 * How Keel serves the console: the HTML shell at every console path (deep links), hashed assets
 * cached for a year and gzipped, the strict CSP kept, API 404s unchanged; and the API additions
 * the console needed: the incident queue by cursor and severity, and an incident's SLO impact.
 */
import { readdirSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { http, type TestKeel } from '../helpers/keel.js';
import { startPagingKeel } from '../helpers/paging.js';

let t: TestKeel;
const js = readdirSync(new URL('../../dist/console-web/assets/', import.meta.url)).find((f) => f.endsWith('.js'))!;

beforeAll(async () => {
  t = await startPagingKeel();
});
afterAll(async () => t?.close());

describe('serving the console', () => {
  it('answers the HTML shell at / and at deep links, never cached, with a CSP that allows no inline script', async () => {
    for (const path of ['/', '/now', '/incidents/inc_123?team=shop', '/slos/checkout-availability', '/settings']) {
      const r = await request(`${t.url}${path}`);
      const body = await r.body.text();
      expect(r.statusCode, path).toBe(200);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.headers['cache-control']).toBe('no-cache');
      expect(body).toContain(`<script type="module" crossorigin src="/assets/${js}"></script>`);
      // Only the one external module script: nothing inline for the CSP to refuse.
      expect(body.match(/<script/g)).toHaveLength(1);
      const csp = String(r.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-eval');
      // Plain HTTP: upgrading the console's own requests to https would break them.
      expect(csp).not.toContain('upgrade-insecure-requests');
    }
  });

  it('serves hashed assets gzipped and cached for a year', async () => {
    const plain = await request(`${t.url}/assets/${js}`);
    const text = await plain.body.text();
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const gz = await request(`${t.url}/assets/${js}`, { headers: { 'accept-encoding': 'gzip, br' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    const bytes = Buffer.from(await gz.body.arrayBuffer());
    expect(gunzipSync(bytes).toString('utf8')).toBe(text);
    expect(bytes.length).toBeLessThan(Buffer.byteLength(text) / 2);
  });

  it('answers an unknown asset or a path outside the console with the API’s JSON 404', async () => {
    for (const [path, message] of [
      ['/assets/nope.js', 'no console file "nope.js"'],
      ['/assets/..%2Fstate.db', 'no console file "../state.db"'],
      ['/v1/nope', 'no route for GET /v1/nope'],
      ['/nope', 'no route for GET /nope'],
    ]) {
      const r = await http(`${t.url}${path}`);
      expect(r.status, path).toBe(404);
      expect(r.body.error.message).toBe(message);
    }
  });
});

describe('the incident queue pages by cursor', () => {
  it('walks every incident once, newest first, filtered by severity', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await http(`${t.url}/v1/incidents`, { key: t.adminKey, json: { title: `I${i}`, severity: i % 2 ? 'SEV1' : 'SEV3', page: false } });
      expect(r.status).toBe(201);
      ids.push(r.body.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r: { status: number; body: { incidents: { id: string }[]; next_cursor: string | null } } = await http(`${t.url}/v1/incidents?state=all&limit=3${cursor ? `&cursor=${cursor}` : ''}`, {
        key: t.adminKey,
      });
      expect(r.status).toBe(200);
      expect(r.body.incidents.length).toBeLessThanOrEqual(3);
      seen.push(...r.body.incidents.map((i) => i.id));
      cursor = r.body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
    const sev1 = await http(`${t.url}/v1/incidents?state=all&severity=SEV1`, { key: t.adminKey });
    expect(sev1.body.incidents.map((i: { title: string }) => i.title)).toEqual(['I5', 'I3', 'I1']);
    expect(sev1.body.next_cursor).toBeNull();
  });

  it('refuses a bad cursor or severity with the field named', async () => {
    const bad = await http(`${t.url}/v1/incidents?cursor=abc`, { key: t.adminKey });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('cursor');
    expect(bad.text).toContain('the next_cursor of a previous page');
    const sev = await http(`${t.url}/v1/incidents?severity=SEV9`, { key: t.adminKey });
    expect(sev.status).toBe(400);
    expect(sev.text).toContain('SEV1 to SEV4, comma-separated');
  });
});

describe('an incident’s SLO impact', () => {
  it('is empty for an incident without a service, and 404 for an unknown incident', async () => {
    const r = await http(`${t.url}/v1/incidents`, { key: t.adminKey, json: { title: 'No service', page: false } });
    const impact = await http(`${t.url}/v1/incidents/${r.body.id}/slo-impact`, { key: t.adminKey });
    expect(impact.status).toBe(200);
    expect(impact.body).toEqual({ incident: r.body.id, impact: [], error: null });
    expect((await http(`${t.url}/v1/incidents/inc_nope/slo-impact`, { key: t.adminKey })).status).toBe(404);
  });
});
