/**
 * The notify part: contact methods, channels, sealed paging secrets, SMTP settings and signed
 * links; the notification queue and its leader-only delivery worker; their routes.
 */
import type { IncidentService } from '../incidents/incident-service.js';
import type { PagingBase, PagingPart } from '../part.js';
import { channelKind } from './channel-kind.js';
import { LinkGate } from './link-gate.js';
import { NotifyQueries } from './notify-queries.js';
import { NotifyService } from './notify-service.js';
import { notifyRoutes } from './routes.js';
import { SecretStore } from './secret-store.js';
import { SmtpSettingsStore } from './smtp-settings.js';
import { userKind } from './user-kind.js';

export interface NotifyPart extends PagingPart {
  notify: NotifyService;
  secretStore: SecretStore;
  smtp: SmtpSettingsStore;
}

export function buildNotify({ ctx, metrics, publicUrl, newAfterCommit }: PagingBase, deps: { incidents: IncidentService }): NotifyPart {
  const { store, clock, bus, logger } = ctx;
  const cfg = ctx.config.paging;
  const { incidents } = deps;
  const secretStore = new SecretStore(store, ctx.secrets, clock);
  const smtp = new SmtpSettingsStore(store, ctx.secrets, clock);
  const notify = new NotifyService({
    store,
    clock,
    bus,
    logger,
    metrics,
    secrets: secretStore,
    smtp,
    box: ctx.secrets,
    newAfterCommit,
    config: {
      get publicUrl() {
        return publicUrl();
      },
      linkTtlMs: cfg.linkTtl,
      maxAttempts: cfg.delivery.maxAttempts,
      initialBackoffMs: cfg.delivery.initialBackoff,
      maxBackoffMs: cfg.delivery.maxBackoff,
      timeoutMs: cfg.delivery.timeout,
      concurrency: cfg.delivery.concurrency,
      pollIntervalMs: cfg.pollInterval,
    },
  });
  // Acknowledged or resolved: every webhook paged for the incident hears so, in the same transaction.
  incidents.addHooks({ stateChanged: (trx, incident, _from, actor, fx) => notify.incidentStateChanged(trx, incident, actor, fx) });
  return {
    notify,
    secretStore,
    smtp,
    kinds: [userKind(ctx.people, ctx.audit), channelKind()],
    resources: [
      { kind: 'User', path: '/v1/paging/users', tag: 'paging', noun: 'user', read: 'paging:read', write: 'paging:write' },
      { kind: 'Channel', path: '/v1/channels', tag: 'paging', noun: 'channel', read: 'paging:read', write: 'paging:write' },
    ],
    routes: notifyRoutes({
      queries: new NotifyQueries(store, incidents),
      gate: new LinkGate({ db: store.db, clock, key: () => notify.verificationKey() }),
      clock,
      incidents,
      notify,
      secrets: secretStore,
      smtp,
    }),
    loops: [notify],
    sealed: [
      { table: 'paging_secrets', key: ['tenant_id', 'name'], column: 'sealed', description: 'paging secrets (webhook signing secrets, Slack webhook URLs)' },
      { table: 'paging_settings', key: ['tenant_id', 'key'], column: 'sealed', description: 'SMTP passwords and the notification link-signing key' },
    ],
  };
}
