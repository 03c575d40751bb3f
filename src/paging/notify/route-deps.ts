/** What notify's route files are given (src/paging/module.ts builds it). */
import type { Clock } from '../../core/clock.js';
import type { IncidentService } from '../incidents/incident-service.js';
import type { NotifyQueries } from './notify-queries.js';
import type { NotifyService } from './notify-service.js';
import type { SecretStore } from './secret-store.js';
import type { SmtpSettingsStore } from './smtp-settings.js';

export interface NotifyRouteDeps {
  queries: NotifyQueries;
  clock: Clock;
  incidents: IncidentService;
  notify: NotifyService;
  secrets: SecretStore;
  smtp: SmtpSettingsStore;
}
