/**
 * The integration key cache, on both stores: a key revoked through another instance (another
 * IntegrationKeys over the same store, as the distributed mode's API processes are) is refused
 * once the documented 5 s have passed; a revocation here is refused at once; a key created
 * elsewhere works at once (unknown keys are never cached).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/core/clock.js';
import { KeelError } from '../../../src/core/errors.js';
import { AesGcmSecretBox } from '../../../src/core/secrets.js';
import { IntegrationKeys } from '../../../src/paging/integrations/keys.js';
import { openTestStore, type TestStore } from '../../helpers/stores.js';

/** Refused with this code and message. */
async function refused(p: Promise<unknown>, code: string, message: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the key was accepted').toBeInstanceOf(KeelError);
  expect({ code: (err as KeelError).code, message: (err as KeelError).message }).toEqual({ code, message });
}

describe.each(['sqlite', 'postgres'] as const)('integration key cache on %s', (engine) => {
  const clock = new FakeClock('2026-04-01T09:00:00Z');
  let ts: TestStore;
  let here: IntegrationKeys;
  let there: IntegrationKeys;

  beforeAll(async () => {
    ts = await openTestStore(engine);
    const box = new AesGcmSecretBox([randomBytes(32)]);
    here = new IntegrationKeys(ts.store, box, clock);
    there = new IntegrationKeys(ts.store, box, clock);
  });
  afterAll(async () => ts?.close());

  it('refuses a key revoked on another instance within 5 s, and at once on the revoking one', async () => {
    const { key, info } = await here.create({ tenant: 'acme', service: 'api', type: 'events-v2', name: 'pd', createdBy: 'test' });
    expect((await here.authenticate(key, 'events-v2')).service).toBe('api');
    expect((await there.authenticate(key, 'events-v2')).service).toBe('api');
    await here.revoke('acme', info.id);
    await refused(here.authenticate(key, 'events-v2', 'not_found'), 'not_found', 'this integration key has been revoked');
    // The other instance still holds the key it looked up: still accepted just inside the bound…
    clock.advance(4_999);
    expect((await there.authenticate(key, 'events-v2')).id).toBe(info.id);
    // …and refused once the bound has passed.
    clock.advance(2);
    await refused(there.authenticate(key, 'events-v2'), 'unauthorized', 'this integration key has been revoked');
  });

  it('accepts a key created on another instance at once, and keeps refusing keys of another type', async () => {
    await refused(there.authenticate('ki00000000000000000000000000000x', 'alertmanager'), 'unauthorized', 'unknown integration key');
    const { key } = await here.create({ tenant: 'acme', service: null, type: 'alertmanager', name: 'am', createdBy: 'test' });
    expect((await there.authenticate(key, 'alertmanager')).tenant).toBe('acme');
    // Served from the cache now: the type is still checked.
    await refused(there.authenticate(key, 'heartbeat'), 'forbidden', 'this integration key is for alertmanager, not heartbeat');
  });
});
