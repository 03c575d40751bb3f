/** What notify's route files are given (src/paging/module.ts builds it). */
import type { Clock } from '../../core/clock.js';
import type { IncidentService } from '../incidents/incident-service.js';
import type { LinkGate } from './link-gate.js';
import type { NotifyQueries } from './notify-queries.js';
import type { NotifyService } from './notify-service.js';
import type { SecretStore } from './secret-store.js';
import type { SmtpSettingsStore } from './smtp-settings.js';

export interface NotifyRouteDeps {
  queries: NotifyQueries;
  /** The checks of one-click links (signature, expiry, single use). */
  gate: LinkGate;
  clock: Clock;
  incidents: IncidentService;
  notify: NotifyService;
  secrets: SecretStore;
  smtp: SmtpSettingsStore;
}
