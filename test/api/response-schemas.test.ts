/**
 * Issue 11 item 7: every GET route declares the schema of its answer (OpenAPI documents it, the
 * CLI infers its types from it). Done for incidents, on-call, ingest, the doctor, the definition resources (schedules, policies, routes, ...),
 * auth (keys, tenants, users, session, secrets, SSO), audit, backups, compliance, definitions, health and the log, verify, SLOs,
 * capacity, integrations and heartbeats, alert routing, notify (people, secrets, SMTP, links, deliveries) and runbooks: every
 * one. NOT_YET stays, empty, so that a new GET route without a schema fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startTestKeel, type TestKeel } from '../helpers/keel.js';

const NOT_YET: string[] = [];

let t: TestKeel;
beforeAll(async () => {
  t = await startTestKeel();
});
afterAll(async () => t?.close());

describe('GET routes declare their answers', () => {
  it('every GET route has a 2xx response schema, except the ones not done yet', () => {
    // JSON answers only: the console's pages and assets declare their HTML, script or style type.
    // A redirect (only 3xx declared as success: the OIDC sign-in steps) has no body to declare; the list
    // of them is pinned so that a JSON route cannot leave by declaring a redirect.
    const redirects = t.keel.routes.filter((r) => r.method === 'GET' && !r.responses.some((x) => x.status < 300) && r.responses.some((x) => x.status >= 300 && x.status < 400));
    expect(redirects.map((r) => r.url).sort()).toEqual(['/v1/auth/oidc/:provider/callback', '/v1/auth/oidc/:provider/login']);
    const gets = t.keel.routes.filter(
      (r) => r.method === 'GET' && !redirects.includes(r) && r.responses.every((x) => x.status >= 300 || x.contentType === undefined || x.contentType === 'application/json'),
    );
    const without = gets.filter((r) => !r.responses.some((x) => x.status >= 200 && x.status < 300 && x.schema)).map((r) => r.url);
    expect([...new Set(without)].sort()).toEqual(NOT_YET);
    // The incident, on-call and event answers are among the declared ones.
    const declared = gets.filter((r) => !without.includes(r.url)).map((r) => r.url);
    expect(declared).toEqual(
      expect.arrayContaining([
        '/v1/incidents',
        '/v1/incidents/:id',
        '/v1/incidents/metrics',
        '/v1/oncall',
        '/v1/schedules/:id/oncall',
        '/v1/events',
        '/v1/doctor',
        '/v1/schedules',
        '/v1/alert-routes/:id',
        '/v1/session',
        '/v1/audit',
        '/v1/definitions',
        '/v1/verify/counts',
        '/healthz',
      ]),
    );
  });

  it('every declared JSON answer reaches the OpenAPI description as a schema (none lost in conversion)', async () => {
    type Schema = { type?: string; properties?: Record<string, unknown>; oneOf?: unknown[]; anyOf?: unknown[] };
    const doc = (await http(`${t.url}/v1/openapi.json`)).body as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: Schema }> }> }>> };
    const empty: string[] = [];
    for (const r of t.keel.routes) {
      for (const res of r.responses) {
        if (!res.schema || (res.contentType ?? 'application/json') !== 'application/json') continue;
        const path = r.url.replace(/:([A-Za-z_]+)/g, '{$1}');
        const s = doc.paths[path]?.[r.method.toLowerCase()]?.responses[String(res.status)]?.content?.['application/json']?.schema;
        // openapi.ts turns a schema JSON Schema cannot express into {}: that would document nothing.
        if (!s || !(s.type || s.oneOf || s.anyOf)) empty.push(`${r.method} ${r.url} ${res.status}`);
      }
    }
    expect(empty).toEqual([]);
    const session = doc.paths['/v1/session']!.get!.responses['200']!.content!['application/json']!.schema;
    expect(session.oneOf).toHaveLength(2);
    const audit = doc.paths['/v1/audit']!.get!.responses['200']!.content!['application/json']!.schema;
    expect(Object.keys(audit.properties ?? {})).toEqual(['entries', 'next_after']);
    // The last routes to declare theirs: a run with its journal, and the people paging can reach.
    const run = doc.paths['/v1/runbooks/runs/{id}']!.get!.responses['200']!.content!['application/json']!.schema;
    expect(Object.keys(run.properties ?? {})).toEqual(expect.arrayContaining(['id', 'status', 'phase', 'approval', 'steps', 'journal']));
    const people = doc.paths['/v1/paging/people']!.get!.responses['200']!.content!['application/json']!.schema as Schema & { properties: { people: { items: Schema } } };
    expect(Object.keys(people.properties.people.items.properties ?? {})).toEqual(['handle', 'user_id', 'email', 'name', 'time_zone', 'contact_methods', 'notification_rules']);
  });
});
