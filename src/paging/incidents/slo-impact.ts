/**
 * What an incident cost in SLO terms. The SLO engine implements this and registers it with the
 * paging module's `registerSloImpactProvider`; postmortems render what it
 * returns for the incident's service and time range.
 */
export interface SloImpact {
  slo: string;
  /** Share of the SLO's error budget consumed in the range (0.25 = a quarter of the budget). */
  budgetConsumed: number;
  badEvents: number;
  /** Where counting started: the incident's opening, or earlier when an SLO alert of the incident was burning before. */
  from?: number;
  /** Why counting started at `from` when it is not the incident's opening. */
  fromReason?: string;
}

export interface SloImpactProvider {
  /** `incidentId` lets the provider find the SLO alerts that opened the incident (the burn began before the page). */
  impact(tenant: string, service: string, from: number, to: number, incidentId?: string): Promise<SloImpact[]>;
}
