/**
 * HTTP routes of on-call, by topic: who is on call (shift-routes.ts), overrides, iCalendar feeds.
 * Route files parse, call `OncallService`/`IcalFeeds`, answer.
 */
import type { AnyRoute } from '../../api/route.js';
import type { ApiKeyService } from '../../auth/api-keys.js';
import type { Clock } from '../../core/clock.js';
import { feedRoutes } from './feed-routes.js';
import type { IcalFeeds } from './ical-feeds.js';
import type { OncallService } from './oncall-service.js';
import { overrideRoutes } from './override-routes.js';
import { shiftRoutes } from './shift-routes.js';

export interface OncallRouteDeps {
  clock: Clock;
  oncall: OncallService;
  feeds: IcalFeeds;
  keys: ApiKeyService;
  publicUrl(): string;
}

export function oncallRoutes(deps: OncallRouteDeps): AnyRoute[] {
  return [...shiftRoutes(deps), ...overrideRoutes(deps), ...feedRoutes(deps)];
}
