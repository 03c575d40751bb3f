/**
 * Time as a dependency. Domain logic (quotas, retention, burn rates, rotations, escalation) takes a
 * Clock so tests can drive it with a FakeClock instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export class FakeClock implements Clock {
  private t: number;
  constructor(start: number | string = '2026-01-01T00:00:00Z') {
    this.t = typeof start === 'number' ? start : Date.parse(start);
  }
  now(): number {
    return this.t;
  }
  set(t: number | string): void {
    this.t = typeof t === 'number' ? t : Date.parse(t);
  }
  advance(ms: number): void {
    this.t += ms;
  }
}
