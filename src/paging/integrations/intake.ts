/**
 * What the integration routes need from the store: one webhook's alerts recorded in one
 * transaction (all or none, so a retried delivery neither half-applies nor doubles), and whether
 * a Service an integration key names exists.
 */
import type { AlertService, AlertSignal, SignalResult } from '../../alerting/alert-service.js';
import { readSpec } from '../../definitions/read-specs.js';
import type { Store } from '../../store/store.js';

export class IntegrationIntake {
  constructor(
    private readonly store: Store,
    private readonly alerts: AlertService,
  ) {}

  /** Records the signals in one transaction; the caller publishes the results once it committed. */
  signalAll(signals: AlertSignal[]): Promise<SignalResult[]> {
    return this.store.db.transaction().execute(async (trx) => {
      const out: SignalResult[] = [];
      for (const s of signals) out.push(await this.alerts.signalIn(trx, s));
      return out;
    });
  }

  async serviceExists(tenant: string, name: string): Promise<boolean> {
    return Boolean(await readSpec(this.store.db, tenant, 'Service', name));
  }
}
