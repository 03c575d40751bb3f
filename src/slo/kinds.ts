/**
 * The OpenSLO kinds the SLO engine owns, as `keel apply` handlers: SLI, SLO, AlertPolicy,
 * AlertCondition and AlertNotificationTarget (Service belongs to the service catalogue). Parsing
 * checks shapes, durations, targets and CEL; validation follows references; `afterApply` keeps the
 * engine's generations in step inside the apply transaction.
 */
import type { Clock } from '../core/clock.js';
import type { Definition, FieldError, KindHandler, ValidationContext } from '../definitions/kinds.js';
import { SERVICE_KIND_ORDER } from '../services/service-kind.js';
import { unseenMessage, type AttributeCatalogue } from './attribute-catalogue.js';
import { sloAttributeUses } from './attribute-paths.js';
import { DEFAULT_POLICY_NAME } from './default-policy.js';
import {
  metricSourceRefs,
  metricSourceRefWarning,
  parseConditionDocument,
  parseDataSourceDocument,
  parsePolicyDocument,
  parseSliDocument,
  parseSloDocument,
  policyDocument,
  sloDocument,
  parseTargetDocument,
  type AlertPolicyStored,
  type SliSpecBody,
  type Stored,
  type StoredSlo,
} from './openslo.js';
import { resolvePolicy, resolveSlo } from './resolve.js';
import { syncTenant } from './sync.js';

const API_VERSIONS = ['openslo/v1', 'keel/v1'];

const lookupOf = (ctx: ValidationContext) => ({ get: (kind: string, name: string) => ctx.get(kind, name)?.spec });

function users(ctx: ValidationContext, kind: string, uses: (spec: unknown) => boolean): string[] {
  return ctx
    .all(kind)
    .filter((d: Definition) => uses(d.spec))
    .map((d) => d.name);
}

const policyRefs = (p: AlertPolicyStored) => ({
  conditions: p.conditions.flatMap((c) => ('ref' in c ? [c.ref] : [])),
  targets: (p.notificationTargets ?? []).flatMap((t) => ('ref' in t ? [t.ref] : [])),
});

/** Inline policies of an SLO and the AlertPolicy definitions: everything that may name a condition or target. */
function allPolicies(ctx: ValidationContext): { owner: string; policy: AlertPolicyStored }[] {
  const out: { owner: string; policy: AlertPolicyStored }[] = ctx.all('AlertPolicy').map((d) => ({ owner: `AlertPolicy ${d.name}`, policy: d.spec as AlertPolicyStored }));
  for (const d of ctx.all('SLO')) {
    for (const p of (d.spec as StoredSlo).alertPolicies ?? []) if ('inline' in p) out.push({ owner: `SLO ${d.name}`, policy: p.inline });
  }
  return out;
}

function inUse(name: string, kind: string, by: string[]): FieldError[] {
  return by.length ? [{ path: [], message: `${kind} ${name} is used by ${by.join(', ')}` }] : [];
}

export function sloKinds(clock: Clock, catalogue?: AttributeCatalogue): KindHandler[] {
  // One function for every SLO kind, so an apply syncs the generations once (see afterApply).
  const afterApply: KindHandler['afterApply'] = (trx, tenant) => syncTenant(trx, tenant, clock.now());
  // OpenSLO's DataSource: stored so OpenSLO files apply as they are, but never queried.
  const dataSource: KindHandler = {
    apiVersions: API_VERSIONS,
    kind: 'DataSource',
    order: SERVICE_KIND_ORDER + 5,
    parse: parseDataSourceDocument,
    warnings: () => [{ path: ['kind'], message: 'a DataSource is accepted but not queried: Keel evaluates the events it ingests (metricSource.type: keel, CEL queries)' }],
  };
  const sli: KindHandler<Stored<SliSpecBody>> = {
    apiVersions: API_VERSIONS,
    kind: 'SLI',
    order: SERVICE_KIND_ORDER + 10,
    parse: parseSliDocument,
    warnings: (spec) => metricSourceRefs(spec, ['spec']).map((r) => ({ path: r.path, message: metricSourceRefWarning(r.ref) })),
    validateDelete: (name, ctx) =>
      inUse(
        name,
        'SLI',
        users(ctx, 'SLO', (s) => (s as StoredSlo).indicatorRef === name).map((n) => `SLO ${n}`),
      ),
    afterApply,
  };
  const target: KindHandler = {
    apiVersions: API_VERSIONS,
    kind: 'AlertNotificationTarget',
    order: SERVICE_KIND_ORDER + 10,
    parse: parseTargetDocument,
    validateDelete: (name, ctx) =>
      inUse(
        name,
        'AlertNotificationTarget',
        allPolicies(ctx)
          .filter((p) => policyRefs(p.policy).targets.includes(name))
          .map((p) => p.owner),
      ),
    afterApply,
  };
  const condition: KindHandler = {
    apiVersions: API_VERSIONS,
    kind: 'AlertCondition',
    order: SERVICE_KIND_ORDER + 10,
    parse: parseConditionDocument,
    validateDelete: (name, ctx) =>
      inUse(
        name,
        'AlertCondition',
        allPolicies(ctx)
          .filter((p) => policyRefs(p.policy).conditions.includes(name))
          .map((p) => p.owner),
      ),
    afterApply,
  };
  const policy: KindHandler<Stored<AlertPolicyStored>> = {
    apiVersions: API_VERSIONS,
    kind: 'AlertPolicy',
    order: SERVICE_KIND_ORDER + 20,
    parse: (doc) => {
      const r = parsePolicyDocument(doc);
      if (r.ok && r.spec.metadata.name === DEFAULT_POLICY_NAME) {
        return { ok: false, errors: [{ path: ['metadata', 'name'], message: `"${DEFAULT_POLICY_NAME}" names the built-in SRE Workbook policy; choose another name` }] };
      }
      return r;
    },
    toDocument: policyDocument,
    validate: (spec, name, ctx) => resolvePolicy(name, spec, lookupOf(ctx), ['spec']).errors,
    validateDelete: (name, ctx) =>
      inUse(
        name,
        'AlertPolicy',
        users(ctx, 'SLO', (s) => ((s as StoredSlo).alertPolicies ?? []).some((p) => 'ref' in p && p.ref === name)).map((n) => `SLO ${n}`),
      ),
    afterApply,
  };
  const slo: KindHandler<StoredSlo> = {
    apiVersions: API_VERSIONS,
    kind: 'SLO',
    order: SERVICE_KIND_ORDER + 30,
    parse: parseSloDocument,
    toDocument: sloDocument,
    validate: (spec, _name, ctx) => resolveSlo(spec, lookupOf(ctx)).errors,
    warnings: async (spec, _name, ctx) => {
      const refs = metricSourceRefs(spec.indicator, ['spec', 'indicator', 'spec']).map((r) => ({ path: r.path, message: metricSourceRefWarning(r.ref) }));
      const { slo: resolved } = resolveSlo(spec, lookupOf(ctx));
      if (!resolved || !catalogue) return refs;
      const unseen = await catalogue.unseenNow(ctx.tenant, sloAttributeUses(resolved));
      // An SLI by reference is written elsewhere: point at the reference.
      return [...refs, ...unseen.map((u) => ({ path: spec.indicatorRef !== undefined && u.reader !== 'breakdown' ? ['spec', 'indicatorRef'] : u.field, message: unseenMessage(u) }))];
    },
    afterApply,
  };
  return [dataSource, sli, target, condition, policy, slo] as KindHandler[];
}
