import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rotation, type ScheduleSpec } from '../../../src/paging/oncall/rotation.js';

const t = (s: string) => Date.parse(s);
const shifts = (spec: ScheduleSpec, from: string, to: string, overrides: ConstructorParameters<typeof Rotation>[1] = []) =>
  new Rotation(spec, overrides).shifts(t(from), t(to)).map((s) => ({ user: s.user, start: new Date(s.start).toISOString(), end: new Date(s.end).toISOString(), source: s.source }));

describe('rotation turns', () => {
  it('rotates daily at the handoff time, in order, wrapping around', () => {
    const spec: ScheduleSpec = { timeZone: 'UTC', layers: [{ name: 'l', users: ['a', 'b', 'c'], start: '2026-01-05', turn: '1d', handoff: '09:00' }] };
    expect(shifts(spec, '2026-01-05T09:00:00Z', '2026-01-09T09:00:00Z').map((s) => [s.user, s.start])).toEqual([
      ['a', '2026-01-05T09:00:00.000Z'],
      ['b', '2026-01-06T09:00:00.000Z'],
      ['c', '2026-01-07T09:00:00.000Z'],
      ['a', '2026-01-08T09:00:00.000Z'],
    ]);
    // Before the layer starts nobody is on call.
    expect(new Rotation(spec).at(t('2026-01-05T08:59:59Z'))).toBeNull();
  });

  it('supports hour and week turns', () => {
    const hours: ScheduleSpec = { timeZone: 'UTC', layers: [{ name: 'l', users: ['a', 'b'], start: '2026-01-05', turn: '8h', handoff: '06:00' }] };
    expect(shifts(hours, '2026-01-05T06:00:00Z', '2026-01-06T06:00:00Z').map((s) => [s.user, s.start.slice(11, 16)])).toEqual([
      ['a', '06:00'],
      ['b', '14:00'],
      ['a', '22:00'],
    ]);
    const weeks: ScheduleSpec = { timeZone: 'UTC', layers: [{ name: 'l', users: ['a', 'b'], start: '2026-01-05', turn: '2w', handoff: '10:00' }] };
    const r = new Rotation(weeks);
    expect(r.at(t('2026-01-18T23:00:00Z'))?.user).toBe('a');
    expect(r.at(t('2026-01-19T09:59:59Z'))?.user).toBe('a');
    expect(r.at(t('2026-01-19T10:00:00Z'))?.user).toBe('b');
    expect(r.at(t('2026-02-02T10:00:00Z'))?.user).toBe('a');
  });

  it('ends a layer at its end', () => {
    const spec: ScheduleSpec = { timeZone: 'UTC', layers: [{ name: 'l', users: ['a'], start: '2026-01-05', turn: '1d', handoff: '00:00', end: '2026-01-07' }] };
    expect(shifts(spec, '2026-01-01T00:00:00Z', '2026-01-10T00:00:00Z')).toEqual([{ user: 'a', start: '2026-01-05T00:00:00.000Z', end: '2026-01-07T00:00:00.000Z', source: 'l' }]);
  });
});

describe('DST transitions keep handoffs at the same local time', () => {
  it('Europe/Berlin spring-forward: the day turn spanning it is 23 hours', () => {
    const spec: ScheduleSpec = { timeZone: 'Europe/Berlin', layers: [{ name: 'l', users: ['a', 'b'], start: '2026-03-27', turn: '1d', handoff: '09:00' }] };
    expect(shifts(spec, '2026-03-27T08:00:00Z', '2026-03-30T07:00:00Z')).toEqual([
      { user: 'a', start: '2026-03-27T08:00:00.000Z', end: '2026-03-28T08:00:00.000Z', source: 'l' }, // 09:00 CET
      { user: 'b', start: '2026-03-28T08:00:00.000Z', end: '2026-03-29T07:00:00.000Z', source: 'l' }, // to 09:00 CEST: 23 h
      { user: 'a', start: '2026-03-29T07:00:00.000Z', end: '2026-03-30T07:00:00.000Z', source: 'l' },
    ]);
  });

  it('Europe/Berlin fall-back: the day turn spanning it is 25 hours', () => {
    const spec: ScheduleSpec = { timeZone: 'Europe/Berlin', layers: [{ name: 'l', users: ['a', 'b'], start: '2026-10-24', turn: '1d', handoff: '09:00' }] };
    expect(shifts(spec, '2026-10-24T07:00:00Z', '2026-10-26T08:00:00Z')).toEqual([
      { user: 'a', start: '2026-10-24T07:00:00.000Z', end: '2026-10-25T08:00:00.000Z', source: 'l' }, // 09:00 CEST to 09:00 CET
      { user: 'b', start: '2026-10-25T08:00:00.000Z', end: '2026-10-26T08:00:00.000Z', source: 'l' },
    ]);
  });

  it('America/New_York spring-forward: 12-hour turns stay at 08:00/20:00 local', () => {
    const spec: ScheduleSpec = { timeZone: 'America/New_York', layers: [{ name: 'l', users: ['day', 'night'], start: '2026-03-07', turn: '12h', handoff: '08:00' }] };
    expect(shifts(spec, '2026-03-07T13:00:00Z', '2026-03-09T00:00:00Z')).toEqual([
      { user: 'day', start: '2026-03-07T13:00:00.000Z', end: '2026-03-08T01:00:00.000Z', source: 'l' }, // 08:00-20:00 EST
      { user: 'night', start: '2026-03-08T01:00:00.000Z', end: '2026-03-08T12:00:00.000Z', source: 'l' }, // 20:00 EST-08:00 EDT: 11 h
      { user: 'day', start: '2026-03-08T12:00:00.000Z', end: '2026-03-09T00:00:00.000Z', source: 'l' }, // 08:00-20:00 EDT
    ]);
  });

  it('America/New_York fall-back: the weekly turn spanning it is one hour longer', () => {
    const spec: ScheduleSpec = { timeZone: 'America/New_York', layers: [{ name: 'l', users: ['a', 'b'], start: '2026-10-26', turn: '1w', handoff: '09:00' }] };
    const s = shifts(spec, '2026-10-26T13:00:00Z', '2026-11-09T14:00:00Z');
    expect(s).toEqual([
      { user: 'a', start: '2026-10-26T13:00:00.000Z', end: '2026-11-02T14:00:00.000Z', source: 'l' }, // 09:00 EDT to 09:00 EST
      { user: 'b', start: '2026-11-02T14:00:00.000Z', end: '2026-11-09T14:00:00.000Z', source: 'l' },
    ]);
    expect(t(s[0]!.end) - t(s[0]!.start)).toBe(7 * 86_400_000 + 3_600_000);
  });

  it('restriction windows follow local time on both sides of a transition', () => {
    const spec: ScheduleSpec = {
      timeZone: 'Europe/Berlin',
      layers: [{ name: 'office', users: ['a'], start: '2026-03-23', turn: '1w', handoff: '00:00', restrictions: [{ days: ['fri', 'mon'], from: '09:00', to: '17:00' }] }],
    };
    expect(shifts(spec, '2026-03-27T00:00:00Z', '2026-03-31T00:00:00Z').map((s) => [s.start, s.end])).toEqual([
      ['2026-03-27T08:00:00.000Z', '2026-03-27T16:00:00.000Z'], // Friday, CET
      ['2026-03-30T07:00:00.000Z', '2026-03-30T15:00:00.000Z'], // Monday, CEST
    ]);
  });
});

describe('layers, restrictions and overrides', () => {
  const spec: ScheduleSpec = {
    timeZone: 'UTC',
    layers: [
      { name: 'base', users: ['a', 'b'], start: '2026-01-05', turn: '1w', handoff: '09:00' },
      // Nights are covered by a follow-the-sun layer above the base.
      { name: 'nights', users: ['n'], start: '2026-01-05', turn: '1d', handoff: '00:00', restrictions: [{ from: '22:00', to: '06:00' }] },
    ],
  };

  it('a higher layer wins where it covers, the lower one elsewhere', () => {
    const r = new Rotation(spec);
    expect(r.at(t('2026-01-06T12:00:00Z'))).toEqual({ user: 'a', source: 'base' });
    expect(r.at(t('2026-01-06T23:00:00Z'))).toEqual({ user: 'n', source: 'nights' });
    expect(r.at(t('2026-01-07T05:59:00Z'))).toEqual({ user: 'n', source: 'nights' });
    expect(r.at(t('2026-01-07T06:00:00Z'))).toEqual({ user: 'a', source: 'base' });
  });

  it('an override wins over every layer; the latest created wins among overrides', () => {
    const r = new Rotation(spec, [
      { id: 'o1', user: 'x', start: t('2026-01-06T20:00:00Z'), end: t('2026-01-07T02:00:00Z'), createdAt: 1 },
      { id: 'o2', user: 'y', start: t('2026-01-07T00:00:00Z'), end: t('2026-01-07T01:00:00Z'), createdAt: 2 },
    ]);
    expect(r.at(t('2026-01-06T21:00:00Z'))).toEqual({ user: 'x', source: 'override' });
    expect(r.at(t('2026-01-06T23:00:00Z'))).toEqual({ user: 'x', source: 'override' });
    expect(r.at(t('2026-01-07T00:30:00Z'))).toEqual({ user: 'y', source: 'override' });
    expect(r.at(t('2026-01-07T01:30:00Z'))).toEqual({ user: 'x', source: 'override' });
    expect(r.at(t('2026-01-07T02:30:00Z'))).toEqual({ user: 'n', source: 'nights' });
  });

  it('reports gaps nobody covers', () => {
    const gappy: ScheduleSpec = { timeZone: 'UTC', layers: [{ name: 'day', users: ['a'], start: '2026-01-05', turn: '1d', handoff: '00:00', restrictions: [{ from: '08:00', to: '18:00' }] }] };
    const segs = new Rotation(gappy).segments(t('2026-01-05T00:00:00Z'), t('2026-01-06T00:00:00Z'));
    expect(segs.map((s) => [s.user, new Date(s.start).toISOString().slice(11, 16)])).toEqual([
      [null, '00:00'],
      ['a', '08:00'],
      [null, '18:00'],
    ]);
  });

  it('segments tile the range and agree with at() everywhere (property)', () => {
    const zones = ['Europe/Berlin', 'America/New_York', 'UTC', 'Australia/Lord_Howe'];
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.constantFrom('3h', '12h', '1d', '2d', '1w'),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 400 }),
        fc.array(fc.integer({ min: 0, max: 20 * 86_400_000 - 1 }), { minLength: 1, maxLength: 20 }),
        (zone, turn, hour, dayOffset, probes) => {
          const spec: ScheduleSpec = {
            timeZone: zone,
            layers: [
              { name: 'base', users: ['a', 'b', 'c'], start: '2026-01-01', turn, handoff: `${String(hour).padStart(2, '0')}:30` },
              { name: 'top', users: ['x', 'y'], start: '2026-01-01', turn: '1d', handoff: '07:00', restrictions: [{ days: ['sat', 'sun'], from: '20:00', to: '08:00' }] },
            ],
          };
          const r = new Rotation(spec);
          const from = t('2026-01-01T00:00:00Z') + dayOffset * 86_400_000;
          const to = from + 20 * 86_400_000;
          const segs = r.segments(from, to);
          expect(segs[0]!.start).toBe(from);
          expect(segs[segs.length - 1]!.end).toBe(to);
          for (let i = 1; i < segs.length; i++) expect(segs[i]!.start).toBe(segs[i - 1]!.end);
          for (const p of probes) {
            const at = from + p;
            const seg = segs.find((s) => s.start <= at && at < s.end)!;
            expect(seg.user).toBe(r.at(at)?.user ?? null);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('whole segments (calendar feeds)', () => {
  const H = 3_600_000;
  const T = Date.parse('2026-03-02T08:00:00Z'); // a 09:00 Berlin handoff
  const r = new Rotation({ timeZone: 'Europe/Berlin', layers: [{ name: 'd', users: ['a', 'b'], start: '2026-01-05', turn: '1d', handoff: '09:00', restrictions: [] }] } as never, []);

  it('reach back and forward to where the first and last shifts really begin and end', () => {
    const cut = r.segments(T + 5 * H, T + 30 * H);
    expect([cut[0]!.start, cut[cut.length - 1]!.end]).toEqual([T + 5 * H, T + 30 * H]);
    const whole = r.wholeSegments(T + 5 * H, T + 30 * H, 366 * 24 * H);
    expect(whole.map((s) => [s.start - T, s.end - T])).toEqual([
      [0, 24 * H],
      [24 * H, 48 * H],
    ]);
  });

  it('go back to the start of a layer where one person is on call for ever, and stop past the limit', () => {
    const solo = new Rotation({ timeZone: 'UTC', layers: [{ name: 'solo', users: ['a'], start: '2026-01-05', turn: '1w', handoff: '00:00', restrictions: [] }] } as never, []);
    const whole = solo.wholeSegments(T, T + H, 366 * 24 * H);
    expect(whole).toHaveLength(1);
    expect(whole[0]!.start).toBe(Date.parse('2026-01-05T00:00:00Z'));
    const limited = solo.wholeSegments(T, T + H, 10 * 24 * H)[0]!;
    expect(T - limited.start).toBeGreaterThanOrEqual(10 * 24 * H);
    expect(limited.end - (T + H)).toBeGreaterThanOrEqual(10 * 24 * H);
  });
});
