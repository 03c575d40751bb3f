/** The escalation part: escalation policies and the leader-only escalation timer service. */
import type { IncidentService } from '../incidents/incident-service.js';
import type { NotifyService } from '../notify/notify-service.js';
import type { OncallService } from '../oncall/oncall-service.js';
import type { PagingBase, PagingPart } from '../part.js';
import { EscalationService } from './escalation-service.js';
import { policyKind } from './policy-kind.js';

export interface EscalationPart extends PagingPart {
  escalation: EscalationService;
}

export function buildEscalation({ ctx, metrics, newAfterCommit }: PagingBase, deps: { incidents: IncidentService; notify: NotifyService; oncall: OncallService }): EscalationPart {
  const { store, clock, bus, logger } = ctx;
  const cfg = ctx.config.paging;
  const escalation = new EscalationService({ store, clock, logger, ...deps, pollIntervalMs: cfg.pollInterval, newAfterCommit, unpagedFallback: cfg.unpagedFallback, metrics, bus });
  return {
    escalation,
    kinds: [policyKind()],
    resources: [{ kind: 'EscalationPolicy', path: '/v1/escalation-policies', tag: 'paging', noun: 'escalation policy', read: 'paging:read', write: 'paging:write' }],
    loops: [escalation],
  };
}
