/**
 * Which SLOs of a service page: an SLO whose alert policies have a condition at one of the
 * service's page severities (no `alertPolicies` means Keel's default policy, which pages). A
 * service with such SLOs but no escalation policy would page nobody when its budget burns; `plan`,
 * `apply` and `keel paging route-test` say so before the outage.
 */
import type { FieldError, ValidationContext } from '../../definitions/kinds.js';
import { DEFAULT_PAGE_SEVERITIES, type ServicePaging } from './service-paging.js';

/** Severities of Keel's default SLO alert policy (src/slo/default-policy.ts). */
const DEFAULT_POLICY_SEVERITIES = ['page', 'ticket'];

/** The stored shapes read here (src/slo/openslo.ts), loosely: inline or by reference. */
type InlineOrRef<T> = { ref: string } | { inline: T };
interface SloLike {
  service?: string;
  alertPolicies?: InlineOrRef<{ conditions?: InlineOrRef<{ severity?: string }>[] }>[];
}

type Lookup = (kind: string, name: string) => unknown;

function deref<T>(item: InlineOrRef<T>, kind: string, lookup: Lookup): T | undefined {
  return 'ref' in item ? (lookup(kind, item.ref) as T | undefined) : item.inline;
}

function severitiesOf(slo: SloLike, lookup: Lookup): string[] {
  if (slo.alertPolicies === undefined) return DEFAULT_POLICY_SEVERITIES;
  return slo.alertPolicies.flatMap((p) => (deref(p, 'AlertPolicy', lookup)?.conditions ?? []).map((c) => deref(c, 'AlertCondition', lookup)?.severity ?? ''));
}

/** Names of the SLOs of `service` whose alerts would open an incident (and page). */
export function pagingSlos(service: string, spec: ServicePaging, slos: { name: string; spec: unknown }[], lookup: Lookup): string[] {
  const pages = spec.pageSeverities ?? DEFAULT_PAGE_SEVERITIES;
  return slos
    .filter((s) => (s.spec as SloLike).service === service && severitiesOf(s.spec as SloLike, lookup).some((sev) => pages.includes(sev)))
    .map((s) => s.name)
    .sort();
}

export function unpagedSloMessage(service: string, slos: string[]): string {
  return `SLO ${slos.join(', ')} of service ${service} page${slos.length === 1 ? 's' : ''}, but the service has no escalation policy: those pages would reach nobody (give it spec.escalationPolicy, apiVersion keel/v1)`;
}

/** The Service kind's warning at plan and apply. */
export function servicePagingWarnings(name: string, spec: ServicePaging, ctx: ValidationContext): FieldError[] {
  if (spec.escalationPolicy) return [];
  const slos = pagingSlos(name, spec, ctx.all('SLO'), (kind, n) => ctx.get(kind, n)?.spec);
  return slos.length ? [{ path: ['spec'], message: unpagedSloMessage(name, slos) }] : [];
}
