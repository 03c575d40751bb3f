import { describe, expect, it } from 'vitest';
import { hashPassword, passwordProblem, verifyPassword } from '../../src/auth/passwords.js';

describe('passwords', () => {
  it('stores scrypt parameters and a per-user salt with the hash, and verifies only the right password', async () => {
    const a = await hashPassword('correct horse battery staple');
    const b = await hashPassword('correct horse battery staple');
    expect(a).toMatch(/^scrypt\$15\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse battery staple', a)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', a)).toBe(false);
    expect(await verifyPassword('anything', 'not-a-hash')).toBe(false);
    expect(await verifyPassword('anything', 'scrypt$40$8$1$AAAA$BBBB')).toBe(false);
  });

  it('refuses short passwords, ones containing the email, and huge ones, naming the rule', () => {
    expect(passwordProblem('short', { minLength: 12 })).toEqual({ path: 'password', message: 'must be at least 12 characters (got 5)' });
    expect(passwordProblem('xx-alice@example.com-yy', { minLength: 12, email: 'alice@example.com' })?.message).toBe('must not contain the email address');
    expect(passwordProblem('a'.repeat(2000), { minLength: 12 })?.message).toBe('must be at most 1024 characters');
    expect(passwordProblem('a long enough passphrase', { minLength: 12 })).toBeUndefined();
  });
});
