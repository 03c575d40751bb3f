/**
 * The JSON routes' body parser, over HTTP: a syntax error says where, a prototype-polluting key is
 * named as such (it is valid JSON), and invalid UTF-8 is refused at its byte offset instead of
 * being stored as U+FFFD. And a path parameter over the limit gets a 414 that names the limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startTestKeel, type TestKeel } from '../helpers/keel.js';

let t: TestKeel;
beforeAll(async () => {
  t = await startTestKeel();
});
afterAll(async () => {
  await t?.close();
});

const post = (body: string | Buffer) => http(`${t.url}/v1/users`, { key: t.adminKey, body, headers: { 'content-type': 'application/json' } });

describe('JSON request bodies', () => {
  it('a syntax error names its position', async () => {
    const r = await post('{"email": "a@b.c",}');
    expect(r.status, r.text).toBe(400);
    expect(r.body.error).toEqual({ code: 'malformed_body', message: expect.stringMatching(/^body is not valid JSON: .*position 18/) });
  });

  it('a "__proto__" or "constructor.prototype" key is refused by name, not called invalid JSON', async () => {
    const proto = await post('{"email":"p@example.com","name":"P","role":"viewer","__proto__":{"admin":true}}');
    expect(proto.status, proto.text).toBe(400);
    expect(proto.body.error.code).toBe('malformed_body');
    expect(proto.body.error.message).toMatch(/^body has a "__proto__" key, which Keel refuses/);
    const ctor = await post('{"email":"p@example.com","name":"P","role":"viewer","constructor":{"prototype":{}}}');
    expect(ctor.status, ctor.text).toBe(400);
    expect(ctor.body.error.message).toMatch(/^body has a "constructor" key holding "prototype"/);
  });

  it('invalid UTF-8 is refused at its byte offset and nothing is created', async () => {
    const head = Buffer.from('{"email":"u');
    const r = await post(Buffer.concat([head, Buffer.from([0xff]), Buffer.from('@example.com","name":"U","role":"viewer"}')]));
    expect(r.status, r.text).toBe(400);
    expect(r.body.error).toEqual({ code: 'malformed_body', message: 'body is not valid UTF-8 at byte 11 (0xff); send UTF-8 text' });
    const users = await http(`${t.url}/v1/users`, { key: t.adminKey });
    expect(users.body.users.map((u: { email: string }) => u.email)).not.toContain('u\ufffd@example.com');
  });

  it('an empty body and a valid one with a charset parameter keep working', async () => {
    const empty = await post('');
    expect(empty.status).toBe(400);
    expect(empty.body.error.code).toBe('empty_body');
    const ok = await http(`${t.url}/v1/users`, { key: t.adminKey, body: '{"email":"ok@example.com","name":"Ok","role":"viewer"}', headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.body.email).toBe('ok@example.com');
  });
});

describe('path parameters', () => {
  it('a segment longer than 100 characters is a 414 naming the limit; 100 is routed', async () => {
    const long = await http(`${t.url}/v1/users/${'u'.repeat(101)}`, { key: t.adminKey });
    expect(long.status, long.text).toBe(414);
    expect(long.body.error.code).toBe('uri_too_long');
    expect(long.body.error.message).toMatch(/is longer than 100 characters \(the limit\)$/);
    const edge = await http(`${t.url}/v1/users/${'u'.repeat(100)}`, { key: t.adminKey });
    expect(edge.status, edge.text).toBe(404);
  });
});
