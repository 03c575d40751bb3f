/**
 * `keel capacity plot` and `keel capacity plan` end to end (embedded): the picture is rendered by
 * the server (SVG by Vega-Lite, PNG by resvg) with a title, axis titles with units, UTC dates and
 * the capacity line; the plan answers from the BENCHMARKS.md figures.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plotSpec, renderSvg } from '../../src/capacity/plot.js';
import { limitReport } from '../../src/capacity/capacity-report.js';
import { minuteOf } from '../../src/capacity/usage-fold.js';
import { keel } from '../helpers/cli.js';
import { http, startTestKeel, type TestKeel } from '../helpers/keel.js';

const H = 3_600_000;
const START = Date.parse('2026-03-02T00:00:00Z');

describe('plot (rendered in Node)', () => {
  it('has the title, axes with units, dates, the forecast band and the capacity line', async () => {
    const history = Array.from({ length: 72 }, (_, h) => ({ t: START + h * H, v: 100 + 5 * h }));
    const now = START + 72 * H;
    const o = { now, horizonMs: 14 * 24 * H };
    const r = limitReport({ id: 'tenant.acme.rate', tenant: 'acme', usage: 455, capacity: 1000 }, history, o);
    const svg = await renderSvg(plotSpec(r, history, o));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('tenant.acme.rate: rate quota of tenant acme (peak per minute)');
    expect(svg).toContain('usage (events/s)');
    expect(svg).toContain('time (UTC)');
    expect(svg).toMatch(/2026-03-0\d \d\d:\d\d/);
    expect(svg).toContain('capacity 1000 (events/s)');
    expect(svg).toContain('forecast (linear)');
    // 100 + 5h reaches 1000 at h = 180: 2026-03-09 12:00.
    expect(svg).toContain('runs out ~2026-03-09 12:00 UTC');
  });
});

describe('keel capacity plot / plan', () => {
  let t: TestKeel;
  const dir = mkdtempSync(join(tmpdir(), 'keel-plot-'));
  beforeAll(async () => {
    t = await startTestKeel({ capacity: { sampleInterval: '200ms', nodePricePerMonth: 200 } });
    const deadline = Date.now() + 20_000;
    while ((await http(`${t.url}/v1/capacity/limits/log.disk`, { key: t.adminKey })).status !== 200) {
      if (Date.now() > deadline) throw new Error('never sampled');
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(async () => t?.close());

  it('writes SVG and PNG files', async () => {
    const svg = await keel(['capacity', 'plot', 'log.disk', '-o', join(dir, 'disk.svg')], { url: t.url, key: t.adminKey });
    expect(svg.code).toBe(0);
    expect(readFileSync(join(dir, 'disk.svg'), 'utf8')).toContain('usage (bytes)');
    // Again onto the same file: replaced.
    expect((await keel(['capacity', 'plot', 'log.disk', '-o', join(dir, 'disk.svg')], { url: t.url, key: t.adminKey })).code).toBe(0);
    const png = await keel(['capacity', 'plot', 'log.disk', '-o', join(dir, 'disk.png'), '--json'], { url: t.url, key: t.adminKey });
    expect(png.code).toBe(0);
    const bytes = readFileSync(join(dir, 'disk.png'));
    expect(bytes.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(JSON.parse(png.stdout)).toMatchObject({ limit: 'log.disk', format: 'png', bytes: bytes.length });
    const bad = await keel(['capacity', 'plot', 'log.disk', '-o', join(dir, 'disk.pdf')], { url: t.url, key: t.adminKey });
    expect(bad.code).toBe(2);
    const missing = await keel(['capacity', 'plot', 'no.such', '-o', join(dir, 'x.svg')], { url: t.url, key: t.adminKey });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no tracked limit "no.such"');
  });

  it('plans for a load', async () => {
    const r = await keel(['capacity', 'plan', '--load', '500000/s', '--json'], { url: t.url, key: t.adminKey });
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout);
    expect(p.load).toBe(500_000);
    expect(p.distributed.ingestNodes).toBe(4);
    expect(p.distributed.costPerMonth).toBe(200 * p.distributed.nodes);
    const text = await keel(['capacity', 'plan', '--load', '100k/s'], { url: t.url, key: t.adminKey });
    expect(text.stdout).toContain('embedded:    1 node(s)');
    // Nothing compacted yet on this small log: the bench's compaction (36 of 261 bytes) applies.
    expect(p.compactedFractionMeasured).toBe(false);
    expect(p.embedded.diskBytesPerEvent).toBeCloseTo((p.bytesPerEvent * 36) / 261, 6);
    expect(p.distributed.diskBytesPerEvent).toBe(p.bytesPerEvent);
    expect(text.stdout).toContain(`at ${Math.round((p.bytesPerEvent * 36) / 261)} bytes per event on disk`);
    for (const [q, msg] of [
      ['', 'give load'],
      ['?load=fast', 'load: "fast"'],
      ['?growth=20%25/month', 'give load'],
      ['?growth=20%25/month&at=2020-01-01', 'at: must be in the future'],
      ['?load=1/s&growth=20%25/month', 'either load'],
    ] as const) {
      const res = await http(`${t.url}/v1/capacity/plan${q}`, { key: t.adminKey });
      expect({ q, status: res.status }).toEqual({ q, status: 400 });
      expect(res.body.error.message).toContain(msg);
    }
  });
  it('plans for the measured peak grown by a rate to a date', async () => {
    // A busy minute ten minutes ago, as the usage processor would have counted it: 6,000,000
    // events in a minute is a peak of 100,000 events/s.
    await t.keel.store.db
      .insertInto('usage_minutes')
      .values({ tenant_id: 'default', minute: minuteOf(Date.now() - 600_000), partition: 0, events: 6_000_000, bytes: 6_000_000 * 260 })
      .execute();
    const at = new Date(Date.now() + 90 * 86_400_000).toISOString();
    const r = await keel(['capacity', 'plan', '--growth', '20%/month', '--at', at, '--json'], { url: t.url, key: t.adminKey });
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout);
    // 100,000 · 1.2³ (three 30-day months) = 172,800/s; the seconds between here and the server move it by < 0.1.
    expect(p.measuredPeakLoad).toBe(100_000);
    expect(p.load).toBeCloseTo(172_800, 0);
    // Embedded: 70 % of 558,500 = 390,950 carries it on one node; distributed: 172,800 / 125,440 → 2 ingest nodes.
    expect(p.embedded.nodes).toBe(1);
    expect(p.distributed.ingestNodes).toBe(2);
    const text = await keel(['capacity', 'plan', '--growth', '20%/month', '--at', at], { url: t.url, key: t.adminKey });
    expect(text.stdout).toContain('projected peak load 173k events/s (measured peak 100k/s)');
  });
});
