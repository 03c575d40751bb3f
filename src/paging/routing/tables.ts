/** What paging decided for each alert: the service, the route, the incident, a suppression. */
export interface PagingAlertsTable {
  alert_id: string;
  tenant_id: string;
  service: string | null;
  /** Route that matched; `(service)` when the source named the service; null when unrouted. */
  route: string | null;
  incident_id: string | null;
  /** `silence/<name>` or `maintenance/<name>` when notifications were suppressed. */
  suppressed_by: string | null;
  grouping_key: string | null;
  processed_at: number;
}

export interface RoutingTables {
  paging_alerts: PagingAlertsTable;
}
