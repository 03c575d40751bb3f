/** The incidents part: incident lifecycle, postmortems and action items, and their routes. */
import type { PagingBase, PagingPart } from '../part.js';
import { ActionItems } from './action-items.js';
import { IncidentQueries, type IncidentReadsElsewhere } from './incident-queries.js';
import { IncidentService } from './incident-service.js';
import { PostmortemService } from './postmortem-service.js';
import { incidentRoutes } from './routes.js';
import type { SloImpactProvider } from './slo-impact.js';

export interface IncidentsDeps {
  /** Escalation and page history the incident views show (read through those parts' functions). */
  elsewhere: IncidentReadsElsewhere;
  /** Where postmortems get the error budget each SLO lost. */
  sloImpact: SloImpactProvider;
}

export interface IncidentsPart extends PagingPart {
  incidents: IncidentService;
  postmortems: PostmortemService;
}

export function buildIncidents({ ctx, metrics }: PagingBase, deps: IncidentsDeps): IncidentsPart {
  const { store, clock, bus, logger } = ctx;
  const incidents = new IncidentService(store, clock, bus, metrics);
  const actions = new ActionItems(clock);
  const postmortems = new PostmortemService(store, clock, logger, incidents, actions);
  postmortems.registerSloImpactProvider(deps.sloImpact);
  return {
    incidents,
    postmortems,
    routes: incidentRoutes({ clock, incidents, actions, postmortems, queries: new IncidentQueries(store, incidents, actions, deps.elsewhere) }),
  };
}
