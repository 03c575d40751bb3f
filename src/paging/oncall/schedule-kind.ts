/** `keel/v1 Schedule`: an IANA time zone and ordered layers of rotations (see rotation.ts for the semantics). */
import { DateTime } from 'luxon';
import { z } from 'zod';
import type { FieldError, KindHandler } from '../../definitions/kinds.js';
import { missingReference, specParser, type WithMetadata } from '../../definitions/spec-parser.js';
import { WEEKDAYS, parseLocalDate, parseLocalInstant, parseTimeOfDay, parseTurn } from './rotation.js';

const timeOfDay = z.string().refine((v) => !Number.isNaN(parseTimeOfDay(v)), 'a local time of day, HH:mm (00:00-23:59)');

const layerSchema = z
  .object({
    name: z.string().min(1).max(100),
    users: z.array(z.string().min(1)).min(1).max(100),
    start: z.string().refine((v) => parseLocalDate(v) !== undefined, 'a local date, YYYY-MM-DD'),
    turn: z.string().refine((v) => parseTurn(v) !== undefined, 'a turn length: hours, days or weeks, e.g. 12h, 1d, 1w'),
    handoff: timeOfDay.default('09:00'),
    end: z.string().optional(),
    restrictions: z
      .array(
        z
          .object({
            days: z.array(z.enum(WEEKDAYS)).min(1).max(7).optional(),
            from: timeOfDay,
            to: timeOfDay,
          })
          .strict(),
      )
      .max(50)
      .optional(),
  })
  .strict();

export const scheduleSpecSchema = z
  .object({
    timeZone: z.string().refine((tz) => DateTime.local().setZone(tz).isValid, 'an IANA time zone such as Europe/Berlin'),
    description: z.string().max(1000).optional(),
    layers: z.array(layerSchema).min(1).max(20),
  })
  .strict();

export type ScheduleDefinition = WithMetadata<z.output<typeof scheduleSpecSchema>>;

function checkSchedule(spec: z.output<typeof scheduleSpecSchema>): FieldError[] {
  const errors: FieldError[] = [];
  const names = new Set<string>();
  spec.layers.forEach((l, i) => {
    if (names.has(l.name)) errors.push({ path: ['layers', i, 'name'], message: `layer "${l.name}" is defined twice` });
    names.add(l.name);
    if (l.end !== undefined) {
      const end = parseLocalInstant(l.end, spec.timeZone);
      if (Number.isNaN(end)) errors.push({ path: ['layers', i, 'end'], message: 'a local date (YYYY-MM-DD), local date-time (YYYY-MM-DDTHH:mm) or RFC 3339 time' });
      else if (end <= parseLocalInstant(l.start, spec.timeZone)) errors.push({ path: ['layers', i, 'end'], message: 'must be after start' });
    }
  });
  return errors;
}

export function scheduleKind(): KindHandler<ScheduleDefinition> {
  return {
    apiVersions: ['keel/v1'],
    kind: 'Schedule',
    order: 4,
    parse: specParser(scheduleSpecSchema, checkSchedule),
    validate: (spec, _name, ctx) => spec.layers.flatMap((l, i) => l.users.flatMap((u, j) => missingReference(ctx, 'User', u, ['spec', 'layers', i, 'users', j]))),
    validateDelete: (name, ctx) => {
      const users = ctx.all('EscalationPolicy').filter((d) => ((d.spec as { steps?: { notify: { schedules?: string[] } }[] }).steps ?? []).some((s) => s.notify.schedules?.includes(name)));
      return users.length ? [{ path: [], message: `Schedule ${name} is used by EscalationPolicy ${users.map((u) => u.name).join(', ')}` }] : [];
    },
  };
}
