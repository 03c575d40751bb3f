/**
 * What an incident cost in SLO terms. The SLO engine implements this and registers it on the
 * paging module (`pagingOf(ctx).registerSloImpactProvider(...)`); postmortems render what it
 * returns for the incident's service and time range.
 */
export interface SloImpact {
  slo: string;
  /** Share of the SLO's error budget consumed in the range (0.25 = a quarter of the budget). */
  budgetConsumed: number;
  badEvents: number;
}

export interface SloImpactProvider {
  impact(tenant: string, service: string, from: number, to: number): Promise<SloImpact[]>;
}
