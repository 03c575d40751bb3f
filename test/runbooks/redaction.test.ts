/** The redaction of a command's output, final and partial: a secret's beginning is held back from output still being written. */
import { describe, expect, it } from 'vitest';
import { redactor } from '../../src/runbooks/steps.js';

describe('redactor', () => {
  const clean = redactor(['tok-SECRET-1', 'abcd1234', 'xyz']);

  it('replaces every whole secret in final output, the longest first; values under 4 characters are left', () => {
    expect(clean('a tok-SECRET-1 b abcd1234 c tok-SECRET-1 xyz')).toBe('a [redacted] b [redacted] c [redacted] xyz');
    expect(clean('ends with tok-SEC')).toBe('ends with tok-SEC');
  });

  it('holds back the longest beginning of a secret at the end of partial output, nothing else', () => {
    expect(clean('token: tok-SEC', true)).toBe('token: ');
    expect(clean('token: t', true)).toBe('token: ');
    expect(clean('id abc', true)).toBe('id ');
    expect(clean('token: tok-SECRET-1\n', true)).toBe('token: [redacted]\n');
    expect(clean('no secret here\n', true)).toBe('no secret here\n');
    // A short value is not a secret to redact, so nothing is held back for it either.
    expect(clean('x', true)).toBe('x');
    expect(clean('', true)).toBe('');
  });
});
