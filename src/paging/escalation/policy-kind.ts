/** `keel/v1 EscalationPolicy`: ordered steps (notify users, on-call of schedules, channels; then wait), repeated. */
import { z } from 'zod';
import { parseDurationMs } from '../../core/time.js';
import type { FieldError, KindHandler } from '../../definitions/kinds.js';
import { missingReference, specParser, type WithMetadata } from '../../definitions/spec-parser.js';

const names = z.array(z.string().min(1)).max(50).optional();

function oneSecondToAWeek(v: string): boolean {
  const ms = parseDurationMs(v);
  return Number.isFinite(ms) && ms >= 1000 && ms <= 7 * 86_400_000;
}

export const policySpecSchema = z
  .object({
    description: z.string().max(1000).optional(),
    repeat: z.number().int().min(0).max(20).default(0),
    /**
     * As PagerDuty's acknowledgement timeout: an acknowledged incident whose alerts still fire
     * returns to triggered after this long and escalates again. Default: off.
     */
    acknowledgementTimeout: z.string().refine(oneSecondToAWeek, 'a duration from 1s to 7d, e.g. 30m').optional(),
    steps: z
      .array(
        z
          .object({
            notify: z.object({ users: names, schedules: names, channels: names }).strict(),
            wait: z.string().default('5m').refine(oneSecondToAWeek, 'a duration from 1s to 7d, e.g. 30s, 5m, 1h'),
          })
          .strict(),
      )
      .min(1)
      .max(20),
  })
  .strict();

export type PolicyDefinition = WithMetadata<z.output<typeof policySpecSchema>>;

function checkPolicy(spec: z.output<typeof policySpecSchema>): FieldError[] {
  return spec.steps.flatMap((s, i) =>
    (s.notify.users?.length ?? 0) + (s.notify.schedules?.length ?? 0) + (s.notify.channels?.length ?? 0) === 0
      ? [{ path: ['steps', i, 'notify'], message: 'a step notifies at least one user, schedule or channel' }]
      : [],
  );
}

export function policyKind(): KindHandler<PolicyDefinition> {
  return {
    apiVersions: ['keel/v1'],
    kind: 'EscalationPolicy',
    order: 5,
    parse: specParser(policySpecSchema, checkPolicy),
    validate: (spec, _name, ctx) =>
      spec.steps.flatMap((s, i) => [
        ...(s.notify.users ?? []).flatMap((u, j) => missingReference(ctx, 'User', u, ['spec', 'steps', i, 'notify', 'users', j])),
        ...(s.notify.schedules ?? []).flatMap((u, j) => missingReference(ctx, 'Schedule', u, ['spec', 'steps', i, 'notify', 'schedules', j])),
        ...(s.notify.channels ?? []).flatMap((u, j) => missingReference(ctx, 'Channel', u, ['spec', 'steps', i, 'notify', 'channels', j])),
      ]),
    validateDelete: (name, ctx) => {
      const users = ctx.all('Service').filter((d) => (d.spec as { escalationPolicy?: string }).escalationPolicy === name);
      return users.length ? [{ path: [], message: `EscalationPolicy ${name} is used by Service ${users.map((u) => u.name).join(', ')}` }] : [];
    },
  };
}
