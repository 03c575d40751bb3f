/**
 * Node ingest capacity from recorded bench results: `keel bench ingest --record` measures on this
 * machine and posts the figure; the `node.ingest` limit and `keel capacity plan` then use it.
 * Also: who may record, and bad figures refused with the field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { http, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { benchResultsAnswer, planAnswer } from '../../src/capacity/schemas.js';

let t: TestKeel;
beforeAll(async () => {
  t = await startTestKeel({ capacity: { sampleInterval: '200ms', nodeIngestEventsPerSecond: 50_000 } });
});
afterAll(async () => t?.close());

async function nodeIngestCapacity(): Promise<number> {
  const r = await http(`${t.url}/v1/capacity/limits/node.ingest`, { key: t.adminKey });
  return r.body.capacity;
}

async function waitForCapacity(want: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((await nodeIngestCapacity().catch(() => undefined)) !== want) {
    if (Date.now() > deadline) throw new Error(`node.ingest capacity never became ${want} (is ${await nodeIngestCapacity()})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('recorded bench results', () => {
  it('before any record, the configured figure is the node ingest capacity', async () => {
    await waitForCapacity(50_000);
    const r = await http(`${t.url}/v1/capacity/bench-results`, { key: t.adminKey });
    expect(r.status).toBe(200);
    benchResultsAnswer.parse(r.body);
    expect(r.body).toMatchObject({ embedded: null, distributed: null, figures: { embeddedPerNode: { value: 50_000, source: 'capacity.nodeIngestEventsPerSecond' } } });
  });

  it('keel bench ingest --record measures and records; the limit and the plan use the recorded figure', async () => {
    const run = await runCli(['bench', 'ingest', '--duration', '1', '--warmup', '0', '--connections', '2', '--batch', '200', '--json', '--record'], { url: t.url, key: t.adminKey });
    expect(run.code, run.stderr).toBe(0);
    const measured = JSON.parse(run.stdout) as { events_per_s: number; ceiling_events_per_s: number };
    expect(measured.events_per_s).toBeGreaterThan(0);
    expect(run.stderr).toContain(`recorded into Keel at ${t.url}: embedded node ingest capacity now ${Math.round(measured.events_per_s).toLocaleString('en-US')} events/s (keel bench ingest recorded`);
    const stored = await http(`${t.url}/v1/capacity/bench-results`, { key: t.adminKey });
    benchResultsAnswer.parse(stored.body);
    expect(stored.body.embedded).toMatchObject({
      mode: 'embedded',
      eventsPerSecond: measured.events_per_s,
      ceilingEventsPerSecond: measured.ceiling_events_per_s,
      recordedBy: expect.stringMatching(/^key:/),
    });
    expect(stored.body.figures.embeddedPerNode.value).toBe(measured.events_per_s);
    // The sampler's next reading uses it instead of the configured 50,000.
    await waitForCapacity(measured.events_per_s);
    const planned = await http(`${t.url}/v1/capacity/plan?load=1000/s`, { key: t.adminKey });
    expect(planned.status).toBe(200);
    planAnswer.parse(planned.body);
    expect(planned.body.figures.embeddedPerNode.value).toBe(measured.events_per_s);
    expect(planned.body.embedded.notes[0]).toContain(`one embedded node carries ${Math.round(measured.events_per_s)} events/s (keel bench ingest recorded`);
    // The audit log says who recorded what.
    const audit = await http(`${t.url}/v1/audit?action=capacity.bench_result.record`, { key: t.adminKey });
    expect(audit.body.entries[0].after).toMatchObject({ mode: 'embedded', eventsPerSecond: measured.events_per_s });
  }, 120_000);

  it("a distributed result sets the per-partition figure from the worker's CPU per event", async () => {
    const r = await http(`${t.url}/v1/capacity/bench-results`, {
      key: t.adminKey,
      json: { mode: 'distributed', eventsPerSecond: 150_000, ceilingEventsPerSecond: 1_000_000, cores: 2, loadAverage: 3.2, partitions: 8, workerCpuMsPer1000: 0.8 },
    });
    expect(r.status).toBe(201);
    expect(r.body.figures.distributedPerNode.value).toBe(150_000);
    // 1,000,000 / 0.8 = 1,250,000 events/s per partition (one core of fold).
    expect(r.body.figures.perPartition.value).toBe(1_250_000);
    const planned = await http(`${t.url}/v1/capacity/plan?load=2000000/s`, { key: t.adminKey });
    // 2,000,000 / (150,000 · 0.7) = 19.05 → 20 ingest nodes; 2,000,000 / (1,250,000 · 0.7) = 2.3 → 8 partitions.
    expect(planned.body.distributed).toMatchObject({ ingestNodes: 20, partitions: 8 });
  });

  it('only system admins record; nonsense figures are refused with the field', async () => {
    const key = await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'acme', scopes: ['admin'] } });
    const denied = await http(`${t.url}/v1/capacity/bench-results`, { key: key.body.key, json: { mode: 'embedded', eventsPerSecond: 1, ceilingEventsPerSecond: 1, cores: 1, loadAverage: 0 } });
    expect(denied.status).toBe(403);
    const cases: [unknown, string][] = [
      [{ mode: 'cloud', eventsPerSecond: 1, ceilingEventsPerSecond: 1, cores: 1, loadAverage: 0 }, 'mode'],
      [{ mode: 'embedded', eventsPerSecond: 0, ceilingEventsPerSecond: 1, cores: 1, loadAverage: 0 }, 'eventsPerSecond'],
      [{ mode: 'embedded', eventsPerSecond: 1, ceilingEventsPerSecond: 1, cores: 1.5, loadAverage: 0 }, 'cores'],
      [{ mode: 'embedded', eventsPerSecond: 1, ceilingEventsPerSecond: 1, cores: 1, loadAverage: 0, speed: 'fast' }, 'speed'],
    ];
    for (const [body, field] of cases) {
      const r = await http(`${t.url}/v1/capacity/bench-results`, { key: t.adminKey, json: body });
      expect({ field, status: r.status }).toEqual({ field, status: 400 });
      expect(JSON.stringify(r.body.error)).toContain(field);
    }
  });
});
