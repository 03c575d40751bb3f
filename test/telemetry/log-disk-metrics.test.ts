/** The embedded log's disk gauges: what its segments hold on disk and what waits for compaction. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, ndjson, startTestKeel, type TestKeel } from '../helpers/keel.js';

let t: TestKeel;
beforeAll(async () => {
  t = await startTestKeel();
});
afterAll(async () => t?.close());

describe('log disk metrics', () => {
  it('shows the bytes on disk and the compaction backlog beside the log bytes', async () => {
    const key = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'acme', scopes: ['ingest'] } })).body.key;
    const body = ndjson([
      { service: 'checkout', n: 1 },
      { service: 'checkout', n: 2 },
    ]);
    expect((await http(`${t.url}/v1/events`, { method: 'POST', key, body, headers: { 'content-type': 'application/x-ndjson' } })).status).toBe(202);
    const text = (await http(`${t.url}/metrics`, { key: t.adminKey })).text;
    const gauge = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
    const log = (await http(`${t.url}/v1/log`, { key: t.adminKey })).body as { bytes: number; diskBytes: number; uncompactedBytes: number };
    // Two small events stay in the active segment (under the seal size): nothing compacted yet.
    expect(log.bytes).toBeGreaterThanOrEqual(Buffer.byteLength(body));
    expect({ bytes: gauge('keel_log_bytes'), disk: gauge('keel_log_disk_bytes'), uncompacted: gauge('keel_log_uncompacted_bytes') }).toEqual({
      bytes: log.bytes,
      disk: log.bytes,
      uncompacted: log.bytes,
    });
    expect(log.diskBytes).toBe(log.bytes);
    expect(log.uncompactedBytes).toBe(log.bytes);
    // The bound the KeelLogCompactionBehind alert compares the backlog with (log.compactionMaxBacklog,
    // 4 GiB by default), and compaction not waiting for a busy Keel.
    expect({ bound: gauge('keel_log_compaction_max_backlog_bytes'), deferred: gauge('keel_log_compaction_deferred') }).toEqual({ bound: 4 * 1024 ** 3, deferred: 0 });
  });
});
