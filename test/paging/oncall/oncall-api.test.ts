import ical from 'node-ical';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keel, runCli } from '../../helpers/cli.js';
import { http, type TestKeel } from '../../helpers/keel.js';
import { apply, applyOk, startPagingKeel } from '../../helpers/paging.js';

let t: TestKeel;

const users = ['alice', 'bob', 'carol']
  .map(
    (n) =>
      `apiVersion: keel/v1\nkind: User\nmetadata: {name: ${n}}\nspec: {email: ${n}@example.com, name: ${n[0]!.toUpperCase()}${n.slice(1)}, contactMethods: [{name: mail, type: email, address: ${n}@example.com}]}\n`,
  )
  .join('---\n');

const schedule = `apiVersion: keel/v1
kind: Schedule
metadata: {name: primary}
spec:
  timeZone: Europe/Berlin
  layers:
    - name: days
      users: [alice, bob]
      start: "2026-01-05"
      turn: 1d
      handoff: "09:00"
    - name: weekend-nights
      users: [carol]
      start: "2026-01-05"
      turn: 1w
      handoff: "00:00"
      restrictions:
        - {days: [sat], from: "22:00", to: "06:00"}
`;

beforeAll(async () => {
  t = await startPagingKeel();
  await applyOk(t, `${users}---\n${schedule}`);
});
afterAll(async () => t?.close());

const get = (path: string, key = t.adminKey) => http(`${t.url}${path}`, { key });

describe('on-call over the API', () => {
  it('lists shifts in a range across the spring-forward transition, with layers', async () => {
    const r = await get('/v1/schedules/primary/oncall?at=2026-03-27T00:00:00Z&until=2026-03-30T00:00:00Z');
    expect(r.status, r.text).toBe(200);
    expect(r.body.time_zone).toBe('Europe/Berlin');
    expect(r.body.shifts.map((s: any) => [s.user.handle, s.start, s.end, s.source])).toEqual([
      ['alice', '2026-03-27T00:00:00.000Z', '2026-03-27T08:00:00.000Z', 'days'],
      ['bob', '2026-03-27T08:00:00.000Z', '2026-03-28T08:00:00.000Z', 'days'],
      ['alice', '2026-03-28T08:00:00.000Z', '2026-03-28T21:00:00.000Z', 'days'],
      ['carol', '2026-03-28T21:00:00.000Z', '2026-03-29T04:00:00.000Z', 'weekend-nights'], // 22:00 CET to 06:00 CEST: 7 h
      ['alice', '2026-03-29T04:00:00.000Z', '2026-03-29T07:00:00.000Z', 'days'],
      ['bob', '2026-03-29T07:00:00.000Z', '2026-03-30T00:00:00.000Z', 'days'], // 09:00 CEST
    ]);
    expect(r.body.shifts[0].user).toEqual({ handle: 'alice', user_id: expect.stringMatching(/^usr_/), email: 'alice@example.com', name: 'Alice' });
    expect(r.body.gaps).toEqual([]);
  });

  it('applies overrides over every layer, and removes them', async () => {
    const o = await http(`${t.url}/v1/schedules/primary/overrides`, { key: t.adminKey, json: { user: 'carol@example.com', start: '2026-03-27T10:00:00Z', end: '2026-03-27T12:00:00Z' } });
    expect(o.status, o.text).toBe(201);
    const r = await get('/v1/schedules/primary/oncall?at=2026-03-27T08:00:00Z&until=2026-03-27T14:00:00Z');
    expect(r.body.shifts.map((s: any) => [s.user.handle, s.start.slice(11, 16), s.end.slice(11, 16), s.source])).toEqual([
      ['bob', '08:00', '10:00', 'days'],
      ['carol', '10:00', '12:00', 'override'],
      ['bob', '12:00', '14:00', 'days'],
    ]);
    const now = await get('/v1/oncall?at=2026-03-27T11:00:00Z&schedule=primary');
    expect(now.body.oncall[0]).toMatchObject({ schedule: 'primary', on_call: { handle: 'carol' }, source: 'override', until: '2026-03-27T12:00:00.000Z', next: { user: { handle: 'bob' } } });
    const del = await http(`${t.url}/v1/schedules/primary/overrides/${o.body.id}`, { method: 'DELETE', key: t.adminKey });
    expect(del.status).toBe(200);
    const after = await get('/v1/oncall?at=2026-03-27T11:00:00Z&schedule=primary');
    expect(after.body.oncall[0].on_call.handle).toBe('bob');
  });

  it('refuses bad ranges, times and overrides with precise errors', async () => {
    const cases: [string, number, RegExp][] = [
      ['/v1/schedules/primary/oncall?at=2026-03-27T00:00:00Z&until=2026-03-26T00:00:00Z', 400, /until must be after at/],
      ['/v1/schedules/primary/oncall?at=2026-01-01T00:00:00Z&until=2027-06-01T00:00:00Z', 400, /at most 366 days/],
      ['/v1/schedules/primary/oncall?at=tomorrow', 400, /^at: must be an RFC 3339 time/],
      ['/v1/schedules/primary/oncall?bogus=1', 400, /unknown field\(s\): bogus/],
      ['/v1/schedules/nope/oncall', 404, /schedule "nope" not found/],
    ];
    for (const [path, status, message] of cases) {
      const r = await get(path);
      expect(r.status, path).toBe(status);
      expect(r.body.error.message, path).toMatch(message);
    }
    const bad = await http(`${t.url}/v1/schedules/primary/overrides`, { key: t.adminKey, json: { user: 'nobody', start: '2026-03-27T10:00:00Z', end: '2026-03-27T09:00:00Z' } });
    expect(bad.status).toBe(404);
    const backwards = await http(`${t.url}/v1/schedules/primary/overrides`, { key: t.adminKey, json: { user: 'bob', start: '2026-03-27T10:00:00Z', end: '2026-03-27T09:00:00Z' } });
    expect(backwards.status).toBe(400);
    expect(backwards.body.error.details[0].path).toBe('end');
  });
});

describe('iCalendar feeds', () => {
  it('a schedule feed (with its token, no headers) parses with node-ical and matches the computed shifts', async () => {
    const feed = await http(`${t.url}/v1/schedules/primary/ical-feeds`, { method: 'POST', key: t.adminKey });
    expect(feed.status, feed.text).toBe(201);
    const url = new URL(feed.body.url as string);
    const res = await http(`${t.url}${url.pathname}${url.search}&past_days=3&future_days=10`);
    expect(res.status, res.text).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/calendar/);
    const events = Object.values(ical.sync.parseICS(res.text)).filter((e): e is ical.VEvent => e?.type === 'VEVENT');
    expect(events.length).toBeGreaterThan(10);
    const first = Math.min(...events.map((e) => e.start.getTime()));
    const last = Math.max(...events.map((e) => e.end!.getTime()));
    const api = await get(`/v1/schedules/primary/oncall?at=${first}&until=${last}`);
    const computed = (api.body.shifts as any[]).map((s) => [Date.parse(s.start), Date.parse(s.end), `On call: ${s.user.name} (primary)`]);
    const parsed = events.map((e) => [e.start.getTime(), e.end!.getTime(), e.summary]).sort((a, b) => (a[0] as number) - (b[0] as number));
    expect(parsed).toEqual(computed);
  });

  it('a person’s feed has only their shifts, across schedules; API keys work too', async () => {
    const res = await http(`${t.url}/v1/oncall/users/carol/ical?future_days=30`, { key: t.adminKey });
    expect(res.status, res.text).toBe(200);
    const events = Object.values(ical.sync.parseICS(res.text)).filter((e): e is ical.VEvent => e?.type === 'VEVENT');
    expect(events.length).toBeGreaterThanOrEqual(4);
    for (const e of events) expect(e.summary).toBe('On call: Carol (primary)');
  });

  it('refuses feeds without a valid token or key', async () => {
    expect((await http(`${t.url}/v1/schedules/primary/ical`)).status).toBe(401);
    expect((await http(`${t.url}/v1/schedules/primary/ical?token=kfnotarealtoken`)).status).toBe(401);
    const userFeed = await http(`${t.url}/v1/oncall/users/alice/ical-feeds`, { method: 'POST', key: t.adminKey });
    const token = new URL(userFeed.body.url as string).searchParams.get('token');
    const misuse = await http(`${t.url}/v1/schedules/primary/ical?token=${token}`);
    expect(misuse.status).toBe(403);
    const list = await get('/v1/ical-feeds');
    expect(JSON.stringify(list.body)).not.toContain(token!);
    await http(`${t.url}/v1/ical-feeds/${userFeed.body.id}`, { method: 'DELETE', key: t.adminKey });
    expect((await http(`${t.url}/v1/oncall/users/alice/ical?token=${token}`)).status).toBe(401);
  });
});

describe('schedules as definitions', () => {
  it('refuses invalid schedules atomically, each error with file, line and field path', async () => {
    const r = await apply(
      t,
      `apiVersion: keel/v1
kind: Schedule
metadata: {name: broken}
spec:
  timeZone: Mars/Olympus
  layers:
    - name: a
      users: [alice, nobody]
      start: "2026-02-30"
      turn: 3 days
      handoff: "25:00"
      restrictions: [{days: [funday], from: "09:00", to: "17:00"}]
`,
      'schedules.yaml',
    );
    expect(r.status).toBe(400);
    const paths = (r.body.error.details as any[]).map((d) => `${d.file}:${d.line} ${d.path}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        'schedules.yaml:5 spec.timeZone',
        'schedules.yaml:9 spec.layers[0].start',
        'schedules.yaml:10 spec.layers[0].turn',
        'schedules.yaml:11 spec.layers[0].handoff',
        'schedules.yaml:12 spec.layers[0].restrictions[0].days[0]',
      ]),
    );
    const refs = await apply(t, schedule.replace('users: [alice, bob]', 'users: [alice, nobody]'), 's.yaml');
    expect(refs.status).toBe(400);
    expect(refs.body.error.details[0]).toMatchObject({ file: 's.yaml', line: 8, path: 'spec.layers[0].users[1]', message: 'no User named "nobody"' });
    const del = await http(`${t.url}/v1/paging/users/bob`, { method: 'DELETE', key: t.adminKey });
    expect(del.status).toBe(409);
    expect(del.body.error.message).toBe('User bob is used by Schedule primary');
  });

  it('is reachable through /v1/schedules and the CLI', async () => {
    const list = await get('/v1/schedules');
    expect(list.body.items.map((s: any) => s.name)).toEqual(['primary']);
    const now = await keel(['oncall', 'now', '--at', '2026-03-27T11:00:00Z'], { url: t.url, key: t.adminKey });
    expect(now.code, now.stderr).toBe(0);
    expect(now.stdout).toMatch(/primary\s+Bob <bob@example.com>\s+days\s+2026-03-28T08:00:00.000Z/);
    const json = await keel(['--json', 'oncall', 'shifts', 'primary', '--at', '2026-03-27T00:00:00Z', '--until', '2026-03-28T00:00:00Z'], { url: t.url, key: t.adminKey });
    expect(JSON.parse(json.stdout).shifts).toHaveLength(2);
    const missing = await runCli(['oncall', 'shifts', 'nope'], { url: t.url, key: t.adminKey });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/schedule "nope" not found \(404 not_found\)/);
    const usage = await runCli(['oncall', 'feed'], { url: t.url, key: t.adminKey });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/either --schedule or --user/);
    const help = await keel(['oncall', 'now', '--help'], { url: t.url });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Who is on call now/);
  });
});

describe('iCalendar feeds emit whole shifts', () => {
  // Alice and Bob alternate daily at 09:00 Berlin; Carol covers Saturday 22:00 to Sunday 06:00.
  const feed = async () => {
    const res = await http(`${t.url}/v1/schedules/primary/ical?past_days=1&future_days=2`, { key: t.adminKey });
    expect(res.status, res.text).toBe(200);
    return Object.values(ical.sync.parseICS(res.text))
      .filter((e): e is ical.VEvent => e?.type === 'VEVENT')
      .sort((a, b) => a.start.getTime() - b.start.getTime());
  };

  it('the first and last events are not cut at the window edges, and UIDs stay the same between fetches', async () => {
    const first = await feed();
    expect(first.length).toBeGreaterThan(2);
    // Every event starts and ends at a handoff (09:00 Berlin) or a restriction edge, none at a window edge.
    for (const e of first) {
      for (const d of [e.start, e.end!]) expect(`${String(e.summary)} ${d.toLocaleTimeString('en-GB', { timeZone: 'Europe/Berlin' })}`).toMatch(/ (09:00:00|22:00:00|06:00:00)$/);
    }
    // Fetched again a little later (the window moved with the clock): the same events, same UIDs.
    const again = await feed();
    expect(again.map((e) => e.uid)).toEqual(first.map((e) => e.uid));
  });
});
