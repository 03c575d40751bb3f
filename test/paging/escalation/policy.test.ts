import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/core/clock.js';
import { ackTimeoutMs, firingPlan, nextPosition, type EscalationPolicySpec } from '../../../src/paging/escalation/policy.js';
import { backoffDelay } from '../../../src/paging/notify/backoff.js';
import { signLink, verifyLink } from '../../../src/paging/notify/links.js';

const policy: EscalationPolicySpec = {
  repeat: 1,
  steps: [
    { notify: { schedules: ['primary'] }, wait: '5m' },
    { notify: { users: ['lead'] }, wait: '10m' },
  ],
};

describe('escalation policy', () => {
  it('fires each step after the previous wait, repeating the whole policy', () => {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const min = 60_000;
    expect(firingPlan(policy, t0)).toEqual([
      { pass: 0, step: 0, at: t0 },
      { pass: 0, step: 1, at: t0 + 5 * min },
      { pass: 1, step: 0, at: t0 + 15 * min },
      { pass: 1, step: 1, at: t0 + 20 * min },
    ]);
    expect(nextPosition(policy, { pass: 1, step: 1 })).toBeNull();
  });

  it('stops when the incident is acknowledged or resolved', () => {
    const t0 = 0;
    expect(firingPlan(policy, t0, 6 * 60_000).map((s) => [s.pass, s.step])).toEqual([
      [0, 0],
      [0, 1],
    ]);
    expect(firingPlan(policy, t0, 0)).toEqual([]);
  });
});

describe('delivery backoff', () => {
  it('grows exponentially up to the cap, with jitter between half and all of it', () => {
    const p = { initialMs: 1000, maxMs: 30_000 };
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, p, () => 1))).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000]);
    expect([1, 2, 3].map((a) => backoffDelay(a, p, () => 0))).toEqual([500, 1000, 2000]);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(3, p);
      expect(d).toBeGreaterThanOrEqual(2000);
      expect(d).toBeLessThanOrEqual(4000);
    }
  });
});

describe('signed one-click links', () => {
  const key = Buffer.alloc(32, 7);
  const clock = new FakeClock('2026-01-01T00:00:00Z');

  it('verify until they expire', () => {
    const token = signLink(key, { tenant: 't', incident: 'inc_1', action: 'ack', user: 'usr_1', exp: clock.now() + 60_000 });
    const ok = verifyLink(key, token, clock.now());
    expect(ok.ok && ok.claims).toMatchObject({ tenant: 't', incident: 'inc_1', action: 'ack', user: 'usr_1' });
    clock.advance(60_000);
    expect(verifyLink(key, token, clock.now())).toMatchObject({ ok: false, reason: 'expired' });
  });

  it('refuse tampered tokens and other keys', () => {
    const token = signLink(key, { tenant: 't', incident: 'inc_1', action: 'ack', user: null, exp: clock.now() + 60_000 });
    const [payload, sig] = token.split('.') as [string, string];
    const forged = Buffer.from(Buffer.from(payload, 'base64url').toString().replace('"ack"', '"resolve"')).toString('base64url');
    expect(verifyLink(key, `${forged}.${sig}`, clock.now())).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(verifyLink(Buffer.alloc(32, 8), token, clock.now())).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(verifyLink(key, 'garbage', clock.now())).toMatchObject({ ok: false, reason: 'malformed' });
  });
});

describe('the acknowledgement timeout', () => {
  it('is the policy’s duration in ms, and off when absent, zero or not a duration', () => {
    expect(ackTimeoutMs({ ...policy, acknowledgementTimeout: '30m' })).toBe(1_800_000);
    expect(ackTimeoutMs({ ...policy, acknowledgementTimeout: '1ms' })).toBe(1);
    expect(ackTimeoutMs(policy)).toBeNull();
    expect(ackTimeoutMs({ ...policy, acknowledgementTimeout: '' })).toBeNull();
    expect(ackTimeoutMs({ ...policy, acknowledgementTimeout: '0m' })).toBeNull();
    expect(ackTimeoutMs({ ...policy, acknowledgementTimeout: 'soon' })).toBeNull();
  });
});
