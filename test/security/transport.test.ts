import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineRoute } from '../../src/api/route.js';
import { assertRouteDeclarations, buildServer } from '../../src/api/server.js';
import { AuditLog } from '../../src/audit/audit-log.js';
import { systemClock } from '../../src/core/clock.js';
import { openSqliteStore } from '../../src/store/store.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { KeelMetrics } from '../../src/telemetry/metrics.js';
import { http, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { addUser } from '../helpers/security.js';

describe('TLS', () => {
  let dir: string;
  let t: TestKeel;
  let ca: Buffer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keel-tls-'));
    execFileSync(
      '/usr/bin/openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    ca = readFileSync(join(dir, 'cert.pem'));
    t = await startTestKeel({ server: { tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } } });
  });
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves HTTPS from the certificate and key files, with HSTS and Secure session cookies; plain HTTP gets nothing', async () => {
    expect(t.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const agent = new Agent({ connect: { ca } });
    const res = await request(`${t.url}/v1/tenants`, { dispatcher: agent, headers: { authorization: `Bearer ${t.adminKey}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    await res.body.text();
    await request(`${t.url}/v1/users`, {
      dispatcher: agent,
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'tls@example.com', name: 'T', role: 'viewer', password: 'a long enough password' }),
    }).then((r) => r.body.text());
    const signIn = await request(`${t.url}/v1/auth/sign-in`, {
      dispatcher: agent,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'tls@example.com', password: 'a long enough password' }),
    });
    await signIn.body.text();
    expect(signIn.statusCode).toBe(200);
    const cookies = signIn.headers['set-cookie'] as string[];
    expect(cookies.find((c) => c.startsWith('keel_session='))).toMatch(/; Secure/);
    await expect(request(`${t.url}/healthz`)).rejects.toThrow(); // untrusted certificate
    const plain = await request(t.url.replace('https:', 'http:') + '/healthz').then(
      (r) => r.statusCode,
      () => 'refused',
    );
    expect(plain).not.toBe(200);
    await agent.close();
  });
});

describe('headers, CORS and limits', () => {
  let t: TestKeel;
  let cors: TestKeel;
  beforeAll(async () => {
    t = await startTestKeel({ security: { maxBodyBytes: '64KiB' }, server: { requestTimeout: '1s' } });
    cors = await startTestKeel({ security: { cors: { origins: ['https://ui.example.com'] } } });
  });
  afterAll(async () => {
    await t?.close();
    await cors?.close();
  });

  it('sets security headers (helmet) on every answer, errors included', async () => {
    for (const [path, status] of [
      ['/healthz', 200],
      ['/v1/keys', 401],
      ['/nowhere', 404],
    ] as const) {
      const r = await http(`${t.url}${path}`);
      expect(r.status).toBe(status);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(r.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
      expect(r.headers['cache-control']).toBe('no-store');
      expect(r.headers['strict-transport-security']).toBeUndefined(); // plain HTTP
      expect(r.headers['x-powered-by']).toBeUndefined();
    }
  });

  it('keeps CORS off by default: no preflight, no Access-Control headers', async () => {
    const pre = await http(`${t.url}/v1/keys`, { method: 'OPTIONS', headers: { origin: 'https://ui.example.com', 'access-control-request-method': 'POST' } });
    expect(pre.status).toBe(404);
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
    const get = await http(`${t.url}/v1/tenants`, { key: t.adminKey, headers: { origin: 'https://ui.example.com' } });
    expect(get.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers CORS only for configured origins', async () => {
    const pre = await http(`${cors.url}/v1/keys`, { method: 'OPTIONS', headers: { origin: 'https://ui.example.com', 'access-control-request-method': 'POST' } });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('https://ui.example.com');
    expect(pre.headers['access-control-allow-credentials']).toBe('true');
    expect(pre.headers['access-control-allow-headers']).toContain('x-csrf-token');
    const other = await http(`${cors.url}/v1/keys`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(other.status).toBe(403);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const get = await http(`${cors.url}/v1/tenants`, { key: cors.adminKey, headers: { origin: 'https://evil.example' } });
    expect(get.status).toBe(200);
    expect(get.headers['access-control-allow-origin']).toBeUndefined();
    const bad = await startTestKeel({ security: { cors: { origins: ['https://ui.example.com/'] } } }).then(
      () => 'started',
      (e: Error) => e.message,
    );
    expect(bad).toMatch(/security\.cors\.origins\[0\]: must be an origin/);
  });

  it('refuses bodies over the limit with 413 naming it, on every JSON route', async () => {
    const big = JSON.stringify({ email: 'x@example.com', name: 'x'.repeat(70_000), role: 'viewer' });
    for (const path of ['/v1/users', '/v1/keys', '/v1/definitions/apply', '/v1/auth/sign-in']) {
      const r = await http(`${t.url}${path}`, { key: t.adminKey, body: big, headers: { 'content-type': 'application/json' } });
      expect(r.status, path).toBe(413);
      expect(r.body.error.message).toBe('request body is larger than 65536 bytes');
    }
    expect((await http(`${t.url}/v1/users`, { key: t.adminKey, json: { email: 'ok@example.com', name: 'ok', role: 'viewer' } })).status).toBe(201);
  });

  it("answers malformed Content-Length, chunked bodies, headers and URLs in Keel's error shape, never fastify's", async () => {
    const port = Number(new URL(t.url).port);
    /** Sends raw bytes (in parts, one write each after the previous is flushed) and reads the answer until the server closes or answers. */
    const raw = (parts: string[]) =>
      new Promise<{ status: number; body: { error?: { code?: unknown; message?: unknown } } }>((resolve, reject) => {
        let out = '';
        const s = connect(port, '127.0.0.1', async () => {
          for (const p of parts) await new Promise<void>((r) => s.write(p, () => r()));
        });
        const done = () => {
          const m = /^HTTP\/1\.1 (\d{3})[^]*?\r\n\r\n([^]*)$/.exec(out);
          if (!m) return reject(new Error(`no HTTP answer: ${JSON.stringify(out.slice(0, 300))}`));
          resolve({ status: Number(m[1]), body: JSON.parse(m[2]!) });
        };
        s.on('data', (d) => {
          out += d.toString();
          // A keep-alive answer (bad URL) is complete once its Content-Length of body has arrived.
          const len = /content-length: (\d+)/i.exec(out);
          const head = out.indexOf('\r\n\r\n');
          if (len && head >= 0 && Buffer.byteLength(out.slice(head + 4)) >= Number(len[1])) {
            s.destroy();
            done();
          }
        });
        s.on('error', () => undefined);
        s.on('close', () => (out ? done() : reject(new Error('closed without an answer'))));
      });
    const head = (path: string, extra: string) => `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.adminKey}\r\nContent-Type: application/json\r\n${extra}\r\n`;
    const badLength = { status: 400, body: { error: { code: 'bad_request', message: 'Content-Length is malformed: send one non-negative integer (and no Transfer-Encoding with it)' } } };
    const badChunk = {
      status: 400,
      body: {
        error: { code: 'bad_request', message: expect.stringMatching(/^the chunked body is malformed \(.+\): each chunk is its size in hexadecimal, CRLF, its data, CRLF; a 0 chunk ends the body$/) },
      },
    };
    for (const path of ['/v1/users', '/v1/events', '/v1/integrations/events-v2']) {
      expect(await raw([head(path, 'Content-Length: abc\r\n') + '{}']), path).toEqual(badLength);
      expect(await raw([head(path, 'Content-Length: -2\r\n') + '{}']), path).toEqual(badLength);
      expect(await raw([head(path, 'Content-Length: 2\r\nContent-Length: 3\r\n') + '{}']), path).toEqual(badLength);
      expect(await raw([head(path, 'Transfer-Encoding: chunked\r\n') + 'zz\r\n{}\r\n0\r\n\r\n']), path).toEqual(badChunk);
      // The same once the route is already reading the body: the bad chunk comes in a later packet.
      expect(await raw([head(path, 'Transfer-Encoding: chunked\r\n') + '2\r\n{"', 'x-1\r\n}\r\n0\r\n\r\n']), path).toEqual(badChunk);
    }
    expect(await raw([`GET /v1/tenants/%zz HTTP/1.1\r\nHost: x\r\n\r\n`])).toEqual({
      status: 400,
      body: { error: { code: 'bad_request', message: 'the URL path /v1/tenants/%zz is not valid percent-encoding' } },
    });
    expect(await raw([`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`])).toEqual({
      status: 431,
      body: { error: { code: 'headers_too_large', message: 'request headers are larger than the limit (16 KiB)' } },
    });
    expect(await raw([`GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n`])).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } });
    await addUser(t.url, t.adminKey, { email: 'framing@example.com', role: 'viewer' }); // the server is fine
  });

  it('cuts off a client that stops sending its request', async () => {
    const port = Number(new URL(t.url).port);
    const closed = await new Promise<number>((resolve) => {
      const started = Date.now();
      const s = connect(port, '127.0.0.1', () => {
        s.write(`POST /v1/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.adminKey}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"em`);
      });
      s.on('data', () => undefined);
      s.on('close', () => resolve(Date.now() - started));
      s.on('error', () => undefined);
      setTimeout(() => s.destroy(), 20_000);
    });
    expect(closed).toBeLessThan(15_000);
    await addUser(t.url, t.adminKey, { email: 'after@example.com', role: 'viewer' }); // the server is fine
  });
});

describe('the server itself', () => {
  it('refuses to start with a state-changing route that is not audited', () => {
    const route = (def: Partial<Parameters<typeof defineRoute>[0]>) =>
      defineRoute({ method: 'POST', url: '/x', summary: 's', tags: [], permission: 'keys:manage', responses: [], handler: async () => ({}), ...def });
    expect(() => assertRouteDeclarations([route({})])).toThrow('route POST /x changes state but declares neither `audit` (the audited action) nor `auditExempt` (why not)');
    expect(() => assertRouteDeclarations([route({ audit: 'x.create' })])).not.toThrow();
    expect(() => assertRouteDeclarations([route({ auditExempt: 'read-only' })])).not.toThrow();
    expect(() => assertRouteDeclarations([route({ method: 'GET' })])).not.toThrow();
    expect(() => assertRouteDeclarations([route({ audit: 'a' }), route({ audit: 'b' })])).toThrow('declared twice');
  });

  it('answers 503 when a handler runs past its time limit, and still audits the change when it completes', async () => {
    const store = await openSqliteStore(':memory:');
    const audit = new AuditLog(store, systemClock);
    let finished = false;
    const app = buildServer({
      auth: { authenticate: async () => undefined, describe: () => '', actor: () => 'anonymous' },
      audit,
      metrics: new KeelMetrics(),
      logger: createLogger('silent'),
      version: 'test',
      handlerTimeoutMs: 200,
      routes: [
        defineRoute({
          method: 'POST',
          url: '/slow',
          summary: 'slow',
          tags: [],
          permission: 'public',
          audit: 'slow.change',
          body: z.object({ ms: z.number() }).strict(),
          responses: [{ status: 200, description: 'ok' }],
          handler: async ({ body, audit: note }) => {
            await new Promise((r) => setTimeout(r, body.ms));
            finished = true;
            note({ target: 'thing/1' });
            return { ok: true };
          },
        }),
      ],
    });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const fast = await http(`${url}/slow`, { json: { ms: 10 } });
      expect(fast.status).toBe(200);
      finished = false;
      const slow = await http(`${url}/slow`, { json: { ms: 600 } });
      expect(slow.status).toBe(503);
      expect(slow.body.error.message).toMatch(/POST \/slow took longer than 200 ms; it may still complete/);
      expect(slow.headers['retry-after']).toBe('5');
      await new Promise((r) => setTimeout(r, 800));
      expect(finished).toBe(true);
      const rows = await store.db.selectFrom('audit_log').select('action').execute();
      expect(rows.map((r) => r.action)).toEqual(['slow.change', 'slow.change']);
    } finally {
      await app.close();
      await store.close();
    }
  });
});

describe('a server that is closing', () => {
  it("answers requests that arrive while it closes with 503 in Keel's error shape", async () => {
    const store = await openSqliteStore(':memory:');
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const app = buildServer({
      auth: { authenticate: async () => undefined, describe: () => '', actor: () => 'anonymous' },
      audit: new AuditLog(store, systemClock),
      metrics: new KeelMetrics(),
      logger: createLogger('silent'),
      version: 'test',
      routes: [],
    });
    // Holds the close before the listener stops, so a request lands while the server closes.
    app.addHook('preClose', async () => held);
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const closed = app.close();
    const res = await http(`${url}/v1/anything`);
    release();
    await closed;
    await store.close();
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: { code: 'unavailable', message: 'Keel is shutting down; retry shortly' } });
    expect(res.headers['retry-after']).toBe('2');
  });
});
