/** `keel/v1 Route`, `Silence` and `MaintenanceWindow`. */
import { z } from 'zod';
import { parseRfc3339 } from '../../core/time.js';
import type { FieldError, KindHandler } from '../../definitions/kinds.js';
import { missingReference, specParser, type WithMetadata } from '../../definitions/spec-parser.js';
import { MatcherError, parseMatcher } from './matchers.js';

const matcherList = z.array(z.string().min(1).max(1000)).max(50);
const instant = z.string().refine((v) => Number.isFinite(parseRfc3339(v)), 'an RFC 3339 time, e.g. 2026-05-01T08:00:00Z');

function checkMatchers(list: string[], path: (string | number)[]): FieldError[] {
  const errors: FieldError[] = [];
  list.forEach((m, i) => {
    try {
      parseMatcher(m);
    } catch (e) {
      if (e instanceof MatcherError) errors.push({ path: [...path, i], message: e.message });
      else throw e;
    }
  });
  return errors;
}

function checkRange(spec: { startsAt: string; endsAt: string }): FieldError[] {
  return parseRfc3339(spec.endsAt) <= parseRfc3339(spec.startsAt) ? [{ path: ['endsAt'], message: 'must be after startsAt' }] : [];
}

export const routeSpecSchema = z
  .object({
    /** Routes are tried from the lowest order; ties by name. */
    order: z.number().int().min(0).max(1_000_000).default(100),
    matchers: matcherList.default([]),
    service: z.string().min(1),
    /** The route for alerts no other route matches (at most one per tenant; no matchers). */
    default: z.boolean().default(false),
  })
  .strict();
export type RouteDefinition = WithMetadata<z.output<typeof routeSpecSchema>>;

export const silenceSpecSchema = z
  .object({
    matchers: matcherList.min(1),
    startsAt: instant,
    endsAt: instant,
    createdBy: z.string().min(1).max(200),
    comment: z.string().min(1).max(2000),
  })
  .strict();
export type SilenceDefinition = WithMetadata<z.output<typeof silenceSpecSchema>>;

export const maintenanceSpecSchema = z
  .object({
    services: z.array(z.string().min(1)).min(1).max(100),
    startsAt: instant,
    endsAt: instant,
    description: z.string().max(2000).optional(),
  })
  .strict();
export type MaintenanceDefinition = WithMetadata<z.output<typeof maintenanceSpecSchema>>;

export function routeKind(): KindHandler<RouteDefinition> {
  return {
    apiVersions: ['keel/v1'],
    kind: 'Route',
    order: 12,
    parse: specParser(routeSpecSchema, (s) => [
      ...checkMatchers(s.matchers, ['matchers']),
      ...(s.default && s.matchers.length ? [{ path: ['matchers'], message: 'the default route has no matchers: it takes what no other route matches' }] : []),
    ]),
    validate: (spec, name, ctx) => {
      const errors = missingReference(ctx, 'Service', spec.service, ['spec', 'service']);
      if (spec.default) {
        const other = ctx.all('Route').find((d) => d.name !== name && (d.spec as RouteDefinition).default);
        if (other) errors.push({ path: ['spec', 'default'], message: `Route ${other.name} is already the default route` });
      }
      return errors;
    },
  };
}

export function silenceKind(): KindHandler<SilenceDefinition> {
  return {
    apiVersions: ['keel/v1'],
    kind: 'Silence',
    order: 14,
    parse: specParser(silenceSpecSchema, (s) => [...checkMatchers(s.matchers, ['matchers']), ...checkRange(s)]),
  };
}

export function maintenanceWindowKind(): KindHandler<MaintenanceDefinition> {
  return {
    apiVersions: ['keel/v1'],
    kind: 'MaintenanceWindow',
    order: 13,
    parse: specParser(maintenanceSpecSchema, checkRange),
    validate: (spec, _name, ctx) => spec.services.flatMap((s, i) => missingReference(ctx, 'Service', s, ['spec', 'services', i])),
  };
}
