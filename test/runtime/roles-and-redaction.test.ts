/** Roles from the command line, secrets kept out of printed URLs, connection errors told from bad queries (pure). */
import { describe, expect, it } from 'vitest';
import { redactNatsUrl } from '../../src/log/jetstream/connection.js';
import { parseRoles, roleLabel } from '../../src/runtime/roles.js';
import { isConnectionError, redactUrl } from '../../src/store/postgres.js';

describe('roles, secrets in URLs, connection errors', () => {
  it('parses roles', () => {
    expect(parseRoles('ingest')).toEqual({ ingest: true, worker: false, evaluator: false, api: false });
    expect(roleLabel(parseRoles('worker,evaluator'))).toBe('worker,evaluator');
    expect(roleLabel(parseRoles('all'))).toBe('all');
    expect(() => parseRoles('ingest,cook')).toThrow(/unknown role "cook"/);
  });

  it('redacts passwords from URLs', () => {
    expect(redactUrl('postgres://keel:s3cret@db:5432/keel?sslmode=require')).toBe('postgres://keel:***@db:5432/keel?sslmode=require');
    expect(redactUrl('postgres://db/keel?password=s3cret')).not.toContain('s3cret');
    expect(redactNatsUrl('nats://u:p@a:4222, tls://t0ken@b:4222')).toBe('nats://***@a:4222,tls://***@b:4222');
  });

  it('tells an unreachable database from a bad query', () => {
    expect(isConnectionError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' }))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }))).toBe(false);
    expect(isConnectionError(Object.assign(new Error('syntax error'), { code: '42601' }))).toBe(false);
  });
});
