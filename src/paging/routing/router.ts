/**
 * Which service an alert belongs to. A source that names the service (an integration key bound
 * to a service, an SLO) decides; otherwise the tenant's Routes are tried in order (lowest `order`
 * first, then by name) and the first whose matchers all match wins; the default route catches
 * the rest. Pure: no I/O.
 */
import { matchesAll, parseMatcher, type Matcher } from './matchers.js';

export interface RouteSpec {
  order: number;
  matchers: string[];
  service: string;
  default: boolean;
}

export interface CompiledRoute {
  name: string;
  order: number;
  matchers: Matcher[];
  service: string;
  isDefault: boolean;
}

export interface RoutingDecision {
  service: string | null;
  /** Route name, `(source)` when the source named the service, null when nothing matched. */
  route: string | null;
}

export function compileRoutes(routes: { name: string; spec: RouteSpec }[]): CompiledRoute[] {
  return routes
    .map((r) => ({ name: r.name, order: r.spec.order, matchers: r.spec.matchers.map(parseMatcher), service: r.spec.service, isDefault: r.spec.default }))
    .sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
}

export function routeAlert(alert: { service: string | null; labels: Readonly<Record<string, string>> }, routes: readonly CompiledRoute[]): RoutingDecision {
  if (alert.service) return { service: alert.service, route: '(source)' };
  for (const r of routes) {
    if (!r.isDefault && matchesAll(r.matchers, alert.labels)) return { service: r.service, route: r.name };
  }
  const fallback = routes.find((r) => r.isDefault);
  return fallback ? { service: fallback.service, route: fallback.name } : { service: null, route: null };
}
