/** Issue 10 item 16: --json everywhere data is printed, and `slo series --step` that fits. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keel, runCli } from '../helpers/cli.js';
import type { TestKeel } from '../helpers/keel.js';
import { applyOk, startPagingKeel } from '../helpers/paging.js';
import { SERVICE, ratioSlo } from '../slo/fixtures.js';

let t: TestKeel;
beforeAll(async () => {
  t = await startPagingKeel();
  await applyOk(t, [SERVICE, ratioSlo('checkout-availability'), ratioSlo('to-delete'), 'apiVersion: keel/v1\nkind: Service\nmetadata: {name: web}\nspec: {description: The website}\n'].join('---\n'));
});
afterAll(async () => t?.close());

const cli = (...args: string[]) => keel(args, { url: t.url, key: t.adminKey });

describe('--json', () => {
  it('commands that printed a sentence or always JSON print the answer as JSON with --json only', async () => {
    const del = await cli('delete', 'Service', 'web', '--json');
    expect(del.code, del.stderr).toBe(0);
    expect(JSON.parse(del.stdout).deleted[0]).toMatchObject({ kind: 'Service', name: 'web' });
    const sloDel = await cli('slo', 'delete', 'to-delete', '--json');
    expect(sloDel.code, sloDel.stderr).toBe(0);
    expect(() => JSON.parse(sloDel.stdout)).not.toThrow();

    const route = await cli('paging', 'route-test', '-l', 'team=web', '--json');
    expect(route.code, route.stderr).toBe(0);
    expect(JSON.parse(route.stdout)).toMatchObject({ pages: false });
    const human = await cli('paging', 'route-test', '-l', 'team=web');
    expect(human.stdout).toMatch(/^service: +-\n/m);
    expect(human.stdout).toMatch(/^pages: +false$/m);
    expect(() => JSON.parse(human.stdout)).toThrow();
  });
});

describe('keel slo series --step', () => {
  it('a step too fine for the range is widened to fit, with a note, instead of failing', async () => {
    const r = await runCli(['slo', 'series', 'checkout-availability', '--step', '1m', '--json'], { url: t.url, key: t.adminKey });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('note: --step 1m over this range gives 1443 points (at most 1000): using --step 2m\n');
    const body = JSON.parse(r.stdout);
    expect(body.stepSeconds).toBe(120);
    expect(body.objectives[0].points.length).toBeLessThanOrEqual(1000);
    const fits = await runCli(['slo', 'series', 'checkout-availability', '--from', 'now-6h', '--step', '1m', '--json'], { url: t.url, key: t.adminKey });
    expect(fits.code, fits.stderr).toBe(0);
    expect(fits.stderr).toBe('');
    expect(JSON.parse(fits.stdout).stepSeconds).toBe(60);
  });
});
