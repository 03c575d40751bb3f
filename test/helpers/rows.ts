/**
 * Whole rows of the alerts and incidents tables for tests that write a history straight into the
 * store (index and plan tests, history pages): every column set, the test names what matters.
 */
import type { AlertsTable } from '../../src/alerting/tables.js';
import type { IncidentsTable } from '../../src/paging/incidents/tables.js';

/** An alert of tenant acme seen once at `last_seen`; resolved then too when its status says so. */
export function alertRow(over: Partial<AlertsTable> & Pick<AlertsTable, 'id' | 'dedup_key' | 'status' | 'last_seen'>): AlertsTable {
  return {
    tenant_id: 'acme',
    source: 'test',
    service: null,
    severity: 'critical',
    summary: over.id,
    labels_json: '{}',
    details_json: '{}',
    links_json: '[]',
    first_seen: over.last_seen,
    count: 1,
    resolved_at: over.status === 'resolved' ? over.last_seen : null,
    acknowledged_at: null,
    ...over,
  };
}

/** Incident number n of tenant acme ("incident n", SEV2, no grouping key or policy). */
export function incidentRow(over: Partial<IncidentsTable> & Pick<IncidentsTable, 'id' | 'number' | 'state' | 'opened_at' | 'service'>): IncidentsTable {
  return {
    tenant_id: 'acme',
    title: `incident ${over.number}`,
    summary: '',
    severity: 'SEV2',
    grouping_key: null,
    escalation_policy: null,
    acknowledged_at: null,
    mitigated_at: null,
    resolved_at: null,
    closed_at: null,
    created_by: 'test',
    ...over,
  };
}
