/**
 * Notify's HTTP routes, by topic: an incident's deliveries, the one-click links, the paging
 * settings (secrets, SMTP) and the people who can be paged.
 */
import type { AnyRoute } from '../../api/route.js';
import { deliveryRoutes } from './delivery-routes.js';
import { linkRoutes } from './link-routes.js';
import { peopleRoutes } from './people-routes.js';
import type { NotifyRouteDeps } from './route-deps.js';
import { settingsRoutes } from './settings-routes.js';

export function notifyRoutes(deps: NotifyRouteDeps): AnyRoute[] {
  return [...deliveryRoutes(deps), ...linkRoutes(deps), ...settingsRoutes(deps), ...peopleRoutes(deps)];
}
