/**
 * HTTP routes of incidents, by topic: the incident itself (incident-routes.ts), metrics,
 * postmortems, action items. Route files parse, call the services or `IncidentQueries`, answer.
 */
import type { AnyRoute } from '../../api/route.js';
import type { Clock } from '../../core/clock.js';
import { actionItemRoutes } from './action-item-routes.js';
import type { ActionItems } from './action-items.js';
import type { IncidentQueries } from './incident-queries.js';
import { incidentLifecycleRoutes } from './incident-routes.js';
import type { IncidentService } from './incident-service.js';
import { incidentMetricsRoutes } from './metrics-routes.js';
import { postmortemRoutes } from './postmortem-routes.js';
import type { PostmortemService } from './postmortem-service.js';

/** The one `actorOf` is auth's; re-exported until notify/routes.ts imports it from there (issue 11, phase B). */
export { actorOf } from '../../auth/principal.js';

export interface IncidentRouteDeps {
  clock: Clock;
  incidents: IncidentService;
  actions: ActionItems;
  postmortems: PostmortemService;
  queries: IncidentQueries;
}

export function incidentRoutes(deps: IncidentRouteDeps): AnyRoute[] {
  const { clock, incidents, actions, postmortems, queries } = deps;
  return [
    ...incidentLifecycleRoutes({ clock, incidents, queries }),
    ...incidentMetricsRoutes({ clock, queries }),
    ...postmortemRoutes({ queries, postmortems }),
    ...actionItemRoutes({ incidents, actions, queries }),
  ];
}
