/** iCalendar feeds of on-call shifts (ical-generator): one event per shift, times in UTC. */
import { createHash, randomBytes } from 'node:crypto';
import ical from 'ical-generator';
import type { PersonShift } from './oncall-service.js';

export function renderIcal(name: string, shifts: readonly PersonShift[], generatedAt: number): string {
  const cal = ical({ name, prodId: { company: 'Keel', product: 'on-call', language: 'EN' }, ttl: 15 * 60 });
  for (const s of shifts) {
    const who = s.person.handle ?? s.person.id ?? s.person.email;
    cal.createEvent({
      id: `${s.schedule}.${who}.${s.start}@keel`,
      start: new Date(s.start),
      end: new Date(s.end),
      stamp: new Date(generatedAt),
      summary: `On call: ${s.person.name} (${s.schedule})`,
      description: `${s.person.name} <${s.person.email}> is on call in schedule ${s.schedule} (${s.source === 'override' ? 'override' : `layer ${s.source}`}).`,
    });
  }
  return cal.toString();
}

/** A feed token: shown once (it goes into the calendar URL), stored as its sha256. */
export function newFeedToken(): { token: string; hash: string } {
  const token = `kf${randomBytes(24).toString('base64url')}`;
  return { token, hash: hashFeedToken(token) };
}

export function hashFeedToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
