/**
 * Rotations at their edges: the parsers (times of day, turns, dates, instants), instants exactly
 * at a layer's start, end and restriction edges, restriction windows that wrap past midnight on
 * chosen days, tie-breaks between overrides, and segments over ranges that start or end mid-turn.
 */
import { describe, expect, it } from 'vitest';
import { Rotation, localDay, parseLocalDate, parseLocalInstant, parseTimeOfDay, parseTurn, wallClock, type LayerSpec, type ScheduleSpec } from '../../../src/paging/oncall/rotation.js';

const t = (s: string) => Date.parse(s);
const iso = (ms: number) => new Date(ms).toISOString();
const schedule = (...layers: LayerSpec[]): ScheduleSpec => ({ timeZone: 'UTC', layers });
const layer = (over: Partial<LayerSpec> = {}): LayerSpec => ({ name: 'l', users: ['a', 'b'], start: '2026-01-05', turn: '1d', handoff: '09:00', ...over });
const segs = (r: Rotation, from: string, to: string) => r.segments(t(from), t(to)).map((s) => [s.user, iso(s.start).slice(0, 16), iso(s.end).slice(0, 16), s.source]);

describe('parsing', () => {
  it('reads times of day HH:mm, and nothing else', () => {
    expect(parseTimeOfDay('00:00')).toBe(0);
    expect(parseTimeOfDay('09:30')).toBe(570);
    expect(parseTimeOfDay('23:59')).toBe(1439);
    for (const bad of ['24:00', '9:30', '09:60', '09:30:00', ' 09:30', '']) expect(parseTimeOfDay(bad), bad).toBeNaN();
  });

  it('reads turns of hours, days and weeks, at least one', () => {
    expect(parseTurn('1h')).toEqual({ n: 1, unit: 'h' });
    expect(parseTurn('12h')).toEqual({ n: 12, unit: 'h' });
    expect(parseTurn('2w')).toEqual({ n: 2, unit: 'w' });
    expect(parseTurn('9999d')).toEqual({ n: 9999, unit: 'd' });
    for (const bad of ['0d', '1m', 'd', '10000d', '1 d', '1dd']) expect(parseTurn(bad), bad).toBeUndefined();
  });

  it('reads local dates that exist', () => {
    expect(parseLocalDate('1970-01-01')).toBe(0);
    expect(parseLocalDate('1970-01-02')).toBe(1);
    expect(parseLocalDate('2026-01-05')).toBe(20458);
    for (const bad of ['2026-02-30', '2026-13-01', '2026-1-05', '2026-01-05T00:00', 'x']) expect(parseLocalDate(bad), bad).toBeUndefined();
  });

  it('turns local wall-clock times into instants, minutes past midnight rolling into the next day', () => {
    const day = parseLocalDate('2026-01-05')!;
    expect(iso(wallClock(day, 9 * 60, 'UTC'))).toBe('2026-01-05T09:00:00.000Z');
    expect(iso(wallClock(day, 9 * 60, 'Europe/Berlin'))).toBe('2026-01-05T08:00:00.000Z');
    expect(iso(wallClock(day, 1440 + 90, 'UTC'))).toBe('2026-01-06T01:30:00.000Z');
    expect(iso(wallClock(day, 3 * 1440, 'UTC'))).toBe('2026-01-08T00:00:00.000Z');
    expect(localDay(t('2026-01-05T23:30:00Z'), 'UTC')).toBe(day);
    expect(localDay(t('2026-01-05T23:30:00Z'), 'Europe/Berlin')).toBe(day + 1);
  });

  it('reads a layer end as a local date, a local date-time or an RFC 3339 instant', () => {
    expect(iso(parseLocalInstant('2026-01-05', 'Europe/Berlin'))).toBe('2026-01-04T23:00:00.000Z');
    expect(iso(parseLocalInstant('2026-01-05T10:15', 'Europe/Berlin'))).toBe('2026-01-05T09:15:00.000Z');
    expect(iso(parseLocalInstant('2026-01-05T10:15:00Z', 'Europe/Berlin'))).toBe('2026-01-05T10:15:00.000Z');
    expect(iso(parseLocalInstant('2026-01-05T10:15:00+02:00', 'UTC'))).toBe('2026-01-05T08:15:00.000Z');
    for (const bad of ['2026-02-30T10:00', '2026-01-05T25:00', 'tomorrow', '2026-01-05 10:15', 'x2026-01-05T10:15', '2026-01-05T10:15x']) expect(parseLocalInstant(bad, 'UTC'), bad).toBeNaN();
  });

  it('refuses a layer it cannot read', () => {
    for (const bad of [{ start: '2026-02-30' }, { turn: '0d' }, { handoff: '9am' }]) expect(() => new Rotation(schedule(layer({ name: 'broken', ...bad })))).toThrow('layer broken is invalid');
  });
});

describe('edges of a layer', () => {
  it('covers from its first handoff, inclusive, to its end, exclusive', () => {
    const r = new Rotation(schedule(layer({ end: '2026-01-07T12:00' })));
    expect(r.at(t('2026-01-05T08:59:59.999Z'))).toBeNull();
    expect(r.at(t('2026-01-05T09:00:00Z'))).toEqual({ user: 'a', source: 'l' });
    expect(r.at(t('2026-01-06T08:59:59.999Z'))).toEqual({ user: 'a', source: 'l' });
    expect(r.at(t('2026-01-06T09:00:00Z'))).toEqual({ user: 'b', source: 'l' });
    expect(r.at(t('2026-01-07T11:59:59.999Z'))).toEqual({ user: 'a', source: 'l' });
    expect(r.at(t('2026-01-07T12:00:00Z'))).toBeNull();
    expect(segs(r, '2026-01-06T00:00:00Z', '2026-01-08T00:00:00Z')).toEqual([
      ['a', '2026-01-06T00:00', '2026-01-06T09:00', 'l'],
      ['b', '2026-01-06T09:00', '2026-01-07T09:00', 'l'],
      ['a', '2026-01-07T09:00', '2026-01-07T12:00', 'l'],
      [null, '2026-01-07T12:00', '2026-01-08T00:00', null],
    ]);
  });

  it('covers nobody with no users, and answers far into a layer’s future', () => {
    expect(new Rotation(schedule(layer({ users: [] }))).at(t('2026-02-01T00:00:00Z'))).toBeNull();
    const r = new Rotation(schedule(layer({ users: ['a', 'b', 'c'] })));
    // 1000 turns later: 1000 % 3 = 1.
    expect(r.at(t('2028-10-01T09:00:00Z'))).toEqual({ user: 'b', source: 'l' });
  });

  it('limits a layer to restriction windows on chosen days, wrapping past midnight', () => {
    // Nights from Friday 22:00 to Saturday 06:00 only (2026-01-09 is a Friday).
    const r = new Rotation(schedule(layer({ restrictions: [{ days: ['fri'], from: '22:00', to: '06:00' }] })));
    expect(r.at(t('2026-01-09T21:59:59Z'))).toBeNull();
    expect(r.at(t('2026-01-09T22:00:00Z'))?.user).toBe('a');
    // Still Friday's 09:00 turn (a) until Saturday 09:00, but the window closes at 06:00.
    expect(r.at(t('2026-01-10T05:59:59Z'))?.user).toBe('a');
    expect(r.at(t('2026-01-10T06:00:00Z'))).toBeNull();
    expect(r.at(t('2026-01-10T22:30:00Z'))).toBeNull();
    expect(r.at(t('2026-01-08T23:00:00Z'))).toBeNull();
    expect(r.at(t('2026-01-16T23:00:00Z'))?.user).toBe('b');
    expect(segs(r, '2026-01-09T00:00:00Z', '2026-01-11T00:00:00Z')).toEqual([
      [null, '2026-01-09T00:00', '2026-01-09T22:00', null],
      ['a', '2026-01-09T22:00', '2026-01-10T06:00', 'l'],
      [null, '2026-01-10T06:00', '2026-01-11T00:00', null],
    ]);
  });

  it('uses every day when a restriction names none, and windows within one day', () => {
    const r = new Rotation(schedule(layer({ restrictions: [{ from: '10:00', to: '12:00' }] })));
    expect(r.at(t('2026-01-06T09:59:59Z'))).toBeNull();
    expect(r.at(t('2026-01-06T10:00:00Z'))?.user).toBe('b');
    expect(r.at(t('2026-01-06T11:59:59Z'))?.user).toBe('b');
    expect(r.at(t('2026-01-06T12:00:00Z'))).toBeNull();
    expect(r.at(t('2026-01-11T11:00:00Z'))?.user).toBe('a');
    expect(segs(r, '2026-01-06T00:00:00Z', '2026-01-07T00:00:00Z')).toEqual([
      [null, '2026-01-06T00:00', '2026-01-06T10:00', null],
      ['b', '2026-01-06T10:00', '2026-01-06T12:00', 'l'],
      [null, '2026-01-06T12:00', '2026-01-07T00:00', null],
    ]);
  });
});

describe('more restrictions', () => {
  it('covers where any one of several windows does', () => {
    const r = new Rotation(
      schedule(
        layer({
          restrictions: [
            { from: '08:00', to: '10:00' },
            { from: '14:00', to: '16:00' },
          ],
        }),
      ),
    );
    expect(r.at(t('2026-01-06T08:30:00Z'))?.user).toBe('a');
    expect(r.at(t('2026-01-06T15:00:00Z'))?.user).toBe('b');
    expect(r.at(t('2026-01-06T12:00:00Z'))).toBeNull();
  });

  it('reads a window whose end equals its start as the whole day', () => {
    const r = new Rotation(schedule(layer({ restrictions: [{ days: ['tue'], from: '10:00', to: '10:00' }] })));
    // 2026-01-06 is a Tuesday: covered from 10:00 to Wednesday 10:00.
    expect(r.at(t('2026-01-06T09:59:59Z'))).toBeNull();
    expect(r.at(t('2026-01-06T10:00:00Z'))?.user).toBe('b');
    expect(r.at(t('2026-01-07T09:59:59Z'))?.user).toBe('a');
    expect(r.at(t('2026-01-07T10:00:00Z'))).toBeNull();
  });
});

describe('overrides and segments', () => {
  const base = new Rotation(schedule(layer()));
  const o = (id: string, user: string, start: string, end: string, createdAt: number) => ({ id, user, start: t(start), end: t(end), createdAt });

  it('applies an override from its start, inclusive, to its end, exclusive; equal creation times go to the higher id', () => {
    const r = new Rotation(base.spec, [
      o('ov_1', 'x', '2026-01-06T10:00:00Z', '2026-01-06T11:00:00Z', 5),
      o('ov_2', 'y', '2026-01-06T10:30:00Z', '2026-01-06T12:00:00Z', 5),
      o('ov_0', 'z', '2026-01-06T10:45:00Z', '2026-01-06T10:50:00Z', 5),
    ]);
    expect(r.at(t('2026-01-06T09:59:59Z'))).toEqual({ user: 'b', source: 'l' });
    expect(r.at(t('2026-01-06T10:00:00Z'))).toEqual({ user: 'x', source: 'override' });
    expect(r.at(t('2026-01-06T10:30:00Z'))).toEqual({ user: 'y', source: 'override' });
    expect(r.at(t('2026-01-06T10:46:00Z'))).toEqual({ user: 'y', source: 'override' });
    expect(r.at(t('2026-01-06T12:00:00Z'))).toEqual({ user: 'b', source: 'l' });
    const later = new Rotation(base.spec, [o('ov_9', 'x', '2026-01-06T10:00:00Z', '2026-01-06T11:00:00Z', 5), o('ov_1', 'y', '2026-01-06T10:00:00Z', '2026-01-06T11:00:00Z', 6)]);
    expect(later.at(t('2026-01-06T10:30:00Z'))?.user).toBe('y');
    // The newer one wins whichever is listed first, whatever the ids.
    const listedFirst = new Rotation(base.spec, [o('ov_1', 'y', '2026-01-06T10:00:00Z', '2026-01-06T11:00:00Z', 6), o('ov_9', 'x', '2026-01-06T10:00:00Z', '2026-01-06T11:00:00Z', 5)]);
    expect(listedFirst.at(t('2026-01-06T10:30:00Z'))?.user).toBe('y');
  });

  it('tiles a range that starts and ends mid-turn, merging neighbours with the same person and source', () => {
    // An override for the person already on call splits the source, not the person.
    const r = new Rotation(base.spec, [o('ov_1', 'b', '2026-01-06T12:00:00Z', '2026-01-06T13:00:00Z', 1)]);
    expect(segs(r, '2026-01-06T11:00:00Z', '2026-01-07T10:00:00Z')).toEqual([
      ['b', '2026-01-06T11:00', '2026-01-06T12:00', 'l'],
      ['b', '2026-01-06T12:00', '2026-01-06T13:00', 'override'],
      ['b', '2026-01-06T13:00', '2026-01-07T09:00', 'l'],
      ['a', '2026-01-07T09:00', '2026-01-07T10:00', 'l'],
    ]);
    // A range ending exactly at a handoff ends with the turn before it, not an empty one after.
    expect(segs(r, '2026-01-06T13:00:00Z', '2026-01-07T09:00:00Z')).toEqual([['b', '2026-01-06T13:00', '2026-01-07T09:00', 'l']]);
    expect(r.segments(t('2026-01-07T00:00:00Z'), t('2026-01-07T00:00:00Z'))).toEqual([]);
    expect(r.segments(t('2026-01-07T00:00:00Z'), t('2026-01-06T00:00:00Z'))).toEqual([]);
    // Entirely before a layer's start, or after its end: one gap.
    expect(segs(new Rotation(schedule(layer({ end: '2026-01-06' }))), '2026-01-10T00:00:00Z', '2026-01-11T00:00:00Z')).toEqual([[null, '2026-01-10T00:00', '2026-01-11T00:00', null]]);
    expect(segs(base, '2026-01-01T00:00:00Z', '2026-01-05T09:00:00Z')).toEqual([[null, '2026-01-01T00:00', '2026-01-05T09:00', null]]);
    expect(segs(base, '2026-01-01T00:00:00Z', '2026-01-05T09:00:00.001Z')).toEqual([
      [null, '2026-01-01T00:00', '2026-01-05T09:00', null],
      ['a', '2026-01-05T09:00', '2026-01-05T09:00', 'l'],
    ]);
    // Shifts leave the gaps out.
    expect(base.shifts(t('2026-01-05T00:00:00Z'), t('2026-01-05T10:00:00Z')).map((s) => s.user)).toEqual(['a']);
  });

  it('lets the last listed layer win where both cover, the lower one where only it does', () => {
    const r = new Rotation(schedule(layer({ name: 'low', users: ['a'] }), layer({ name: 'high', users: ['h'], restrictions: [{ from: '12:00', to: '13:00' }] })));
    expect(segs(r, '2026-01-06T11:00:00Z', '2026-01-06T14:00:00Z')).toEqual([
      ['a', '2026-01-06T11:00', '2026-01-06T12:00', 'low'],
      ['h', '2026-01-06T12:00', '2026-01-06T13:00', 'high'],
      ['a', '2026-01-06T13:00', '2026-01-06T14:00', 'low'],
    ]);
  });
});
