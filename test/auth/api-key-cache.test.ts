/**
 * The API key cache and the batched last-use times, on both stores: a key revoked through another
 * instance (another ApiKeyService over the same store, as in the distributed mode) is refused once
 * the documented 5 s have passed; a revocation here is refused at once; last-use times of many
 * keys reach the store in one flush, and not again within the minute's resolution.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService } from '../../src/auth/api-keys.js';
import { TenantService } from '../../src/auth/tenants.js';
import { FakeClock } from '../../src/core/clock.js';
import { KeelError } from '../../src/core/errors.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(KeelError);
    return `${(e as KeelError).code}: ${(e as KeelError).message}`;
  }
  return 'accepted';
}

describe.each(['sqlite', 'postgres'] as const)('API key cache on %s', (engine) => {
  const clock = new FakeClock('2026-04-01T09:00:00Z');
  let ts: TestStore;
  let here: ApiKeyService;
  let there: ApiKeyService;

  beforeAll(async () => {
    ts = await openTestStore(engine);
    const tenants = new TenantService(ts.store, clock);
    here = new ApiKeyService(ts.store, tenants, clock);
    there = new ApiKeyService(ts.store, tenants, clock);
  });
  afterAll(async () => ts?.close());

  it('refuses a key revoked on another instance within 5 s, and at once on the revoking one', async () => {
    const { key, info } = await here.create({ tenant: 'acme', scopes: ['ingest'], createdBy: 'test' });
    expect((await here.authenticate(key)).tenant).toBe('acme');
    expect((await there.authenticate(key)).tenant).toBe('acme');
    await here.revoke(info.id);
    expect(await refusal(here.authenticate(key))).toBe('unauthorized: API key has been revoked');
    // The other instance still holds the key it looked up: still accepted just inside the bound…
    clock.advance(4_999);
    expect(await refusal(there.authenticate(key))).toBe('accepted');
    // …and refused once the bound has passed.
    clock.advance(2);
    expect(await refusal(there.authenticate(key))).toBe('unauthorized: API key has been revoked');
  });

  it('writes the last-use times of many keys in one flush, once per minute per key', async () => {
    const created = [];
    for (let i = 0; i < 30; i++) created.push(await here.create({ tenant: `t${i}`, scopes: ['ingest'], createdBy: 'test' }));
    const usedAt = clock.now();
    for (const c of created) await here.authenticate(c.key);
    await here.flushLastUsed();
    for (const c of created) expect((await here.get(c.info.id))!.lastUsedAt).toBe(usedAt);
    // Used again 30 s later: within the minute's resolution, nothing new to write.
    clock.advance(30_000);
    for (const c of created) await here.authenticate(c.key);
    await here.flushLastUsed();
    expect((await here.get(created[5]!.info.id))!.lastUsedAt).toBe(usedAt);
    // A minute after the first write: written again.
    clock.advance(31_000);
    await here.authenticate(created[5]!.key);
    await here.flushLastUsed();
    expect((await here.get(created[5]!.info.id))!.lastUsedAt).toBe(usedAt + 61_000);
    expect((await here.get(created[6]!.info.id))!.lastUsedAt).toBe(usedAt);
  });
});
