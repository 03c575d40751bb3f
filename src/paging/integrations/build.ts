/**
 * The integrations part: the Alertmanager webhook, PagerDuty Events v2 and heartbeats (with
 * their leader-only checker), the integration keys; their routes.
 */
import type { PagingBase, PagingPart } from '../part.js';
import { HeartbeatService, heartbeatKind } from './heartbeats.js';
import { IntegrationIntake } from './intake.js';
import { IntegrationKeys } from './keys.js';
import { integrationRoutes } from './routes.js';

export interface IntegrationsPart extends PagingPart {
  heartbeats: HeartbeatService;
  integrationKeys: IntegrationKeys;
}

export function buildIntegrations({ ctx, publicUrl }: PagingBase): IntegrationsPart {
  const { store, clock, logger, alerts } = ctx;
  const integrationKeys = new IntegrationKeys(store, ctx.secrets, clock);
  const heartbeats = new HeartbeatService({ store, clock, alerts, logger, pollIntervalMs: ctx.config.paging.pollInterval });
  return {
    heartbeats,
    integrationKeys,
    kinds: [heartbeatKind({ clock, alerts })],
    resources: [{ kind: 'Heartbeat', path: '/v1/heartbeats', tag: 'integrations', noun: 'heartbeat', read: 'paging:read', write: 'paging:write', noList: true }],
    routes: integrationRoutes({ intake: new IntegrationIntake(store, alerts), logger, alerts, keys: integrationKeys, heartbeats, publicUrl }),
    loops: [heartbeats],
    sealed: [{ table: 'integration_keys', key: ['id'], column: 'sealed', description: 'integration keys (Alertmanager, Events v2, heartbeats)' }],
  };
}
