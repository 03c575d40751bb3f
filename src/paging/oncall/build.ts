/** The on-call part: schedules and who is on call, overrides, the iCalendar feeds; their routes. */
import type { PagingBase, PagingPart } from '../part.js';
import { IcalFeeds } from './ical-feeds.js';
import { OncallService } from './oncall-service.js';
import { oncallRoutes } from './routes.js';
import { scheduleKind } from './schedule-kind.js';

export interface OncallPart extends PagingPart {
  oncall: OncallService;
}

export function buildOncall({ ctx, publicUrl }: PagingBase): OncallPart {
  const { store, clock } = ctx;
  const oncall = new OncallService(store, clock);
  return {
    oncall,
    kinds: [scheduleKind()],
    resources: [{ kind: 'Schedule', path: '/v1/schedules', tag: 'oncall', noun: 'schedule', read: 'oncall:read', write: 'paging:write' }],
    routes: oncallRoutes({ clock, oncall, feeds: new IcalFeeds(store, clock), keys: ctx.keys, publicUrl }),
  };
}
