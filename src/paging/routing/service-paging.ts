/**
 * The paging fields of a `keel/v1 Service` (merged into the Service kind's spec): who is paged
 * (the escalation policy), how its alerts group into incidents, which alert severities open an
 * incident, and at what incident severity. Also the reference checks for these fields.
 */
import { z } from 'zod';
import type { FieldError, ValidationContext } from '../../definitions/kinds.js';
import { missingReference } from '../../definitions/spec-parser.js';

export const INCIDENT_SEVERITIES = ['SEV1', 'SEV2', 'SEV3', 'SEV4'] as const;
export type IncidentSeverity = (typeof INCIDENT_SEVERITIES)[number];

export const DEFAULT_PAGE_SEVERITIES = ['page', 'critical', 'error'];

export const servicePagingFields = {
  /** EscalationPolicy paged when an alert of this service opens an incident. */
  escalationPolicy: z.string().min(1).optional(),
  alertGrouping: z
    .object({
      /** Labels whose values form the grouping key; [] puts every alert into one open incident. */
      by: z
        .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'a label name'))
        .max(20)
        .default([]),
    })
    .strict()
    .optional(),
  /** Alert severities that open an incident (others are recorded, and join an open incident). */
  pageSeverities: z.array(z.string().min(1).max(50)).min(1).max(20).optional(),
  /** Severity of incidents opened by alerts (default SEV2). */
  incidentSeverity: z.enum(INCIDENT_SEVERITIES).optional(),
  /** Resolve the incident when all its alerts have resolved (default true). */
  autoResolve: z.boolean().optional(),
};

export interface ServicePaging {
  escalationPolicy?: string;
  alertGrouping?: { by: string[] };
  pageSeverities?: string[];
  incidentSeverity?: IncidentSeverity;
  autoResolve?: boolean;
}

export function validateServicePaging(spec: ServicePaging, ctx: ValidationContext): FieldError[] {
  return spec.escalationPolicy ? missingReference(ctx, 'EscalationPolicy', spec.escalationPolicy, ['spec', 'escalationPolicy']) : [];
}

/** Paging definitions that name the service: refuse deleting it while they exist. */
export function pagingReferencesTo(service: string, ctx: ValidationContext): FieldError[] {
  const refs: string[] = [];
  for (const d of ctx.all('Route')) if ((d.spec as { service: string }).service === service) refs.push(`Route ${d.name}`);
  for (const d of ctx.all('MaintenanceWindow')) if ((d.spec as { services: string[] }).services.includes(service)) refs.push(`MaintenanceWindow ${d.name}`);
  for (const d of ctx.all('Heartbeat')) if ((d.spec as { service: string }).service === service) refs.push(`Heartbeat ${d.name}`);
  return refs.length ? [{ path: [], message: `Service ${service} is used by ${refs.join(', ')}` }] : [];
}
