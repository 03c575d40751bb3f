/** How people and shifts look in the on-call API. */
import { iso } from '../../core/time-input.js';
import type { Person } from './directory.js';
import type { PersonShift } from './oncall-service.js';

export function personView(p: Person) {
  return { handle: p.handle, user_id: p.id, email: p.email, name: p.name };
}

export function shiftView(s: PersonShift) {
  return { user: personView(s.person), start: iso(s.start), end: iso(s.end), source: s.source, schedule: s.schedule };
}
