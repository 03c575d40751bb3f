/**
 * nats.compression: s2 asks JetStream to compress the stream's files (nats-server 2.10+); on an
 * older server the setting is refused with what to do, and the stream is left as it was.
 */
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { desiredStreamConfig, ensureStream, serverCompresses, type StreamSettings } from '../../src/log/jetstream/stream-setup.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { NATS_URL } from '../helpers/stores.js';

let nc: NatsConnection;
let jsm: JetStreamManager;
const name = `KEEL_COMPRESSION_${Math.random().toString(36).slice(2, 8).toUpperCase()}`;
const settings = (compression: 'none' | 's2'): StreamSettings => ({
  name,
  scheme: { prefix: `keel.compression.${name.toLowerCase()}`, partitions: 2 },
  replicas: 1,
  duplicateWindowMs: 60_000,
  maxAgeMs: 0,
  maxBytes: 0,
  compression,
});

beforeAll(async () => {
  nc = await connect({ servers: NATS_URL, timeout: 5_000 });
  jsm = await jetstreamManager(nc);
});
afterAll(async () => {
  await jsm.streams.delete(name).catch(() => undefined);
  await nc.close();
});

describe('stream compression', () => {
  it('asks for s2 only when configured, and knows which servers have it', () => {
    expect(desiredStreamConfig(settings('s2')).compression).toBe('s2');
    expect('compression' in desiredStreamConfig(settings('none'))).toBe(false);
    expect([serverCompresses('2.9.10'), serverCompresses('2.10.0'), serverCompresses('2.11.4'), serverCompresses('3.0.0'), serverCompresses(undefined)]).toEqual([false, true, true, true, false]);
  });

  it('compresses the stream with s2 on a server that can, and refuses it with the fix on one that cannot', async () => {
    const logger = createLogger('silent');
    const version = nc.info?.version;
    await ensureStream(jsm, settings('none'), logger, version);
    if (serverCompresses(version)) {
      const info = await ensureStream(jsm, settings('s2'), logger, version);
      expect(info.config.compression).toBe('s2');
    } else {
      await expect(ensureStream(jsm, settings('s2'), logger, version)).rejects.toThrow(`nats.compression: s2 needs nats-server 2.10 or later; this server is ${version}`);
      expect((await jsm.streams.info(name)).config.compression ?? 'none').toBe('none');
    }
  });
});
