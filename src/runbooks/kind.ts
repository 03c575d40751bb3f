/** `keel/v1 Runbook`: parsed and checked at `plan` (templates, CEL, skips), stored as a definition. */
import type { FieldError, KindHandler, ValidationContext } from '../definitions/kinds.js';
import { missingReference, specParser, type WithMetadata } from '../definitions/spec-parser.js';
import { loadSecretNames } from '../paging/notify/secret-references.js';
import { checkRunbook, runbookSpecSchema, type RunbookSpec } from './spec.js';
import { secretNames } from './templates.js';

export type RunbookDefinition = WithMetadata<RunbookSpec>;

export function runbookKind(): KindHandler<RunbookDefinition> {
  return {
    apiVersions: ['keel/v1'],
    kind: 'Runbook',
    order: 40,
    parse: specParser(runbookSpecSchema, checkRunbook),
    load: loadSecretNames,
    // A runbook naming a secret that is not stored would fail at its first run, in an outage.
    validate: (spec, _name, ctx) => {
      const errors = references(spec, ctx);
      const names = ctx.loaded('Runbook');
      if (!(names instanceof Set)) return errors;
      spec.steps.forEach((s, i) => {
        const fields: [(string | number)[], string][] = [];
        if (s.http) {
          fields.push([['http', 'url'], s.http.url]);
          for (const [k, v] of Object.entries(s.http.headers)) fields.push([['http', 'headers', k], v]);
          if (s.http.body !== undefined) fields.push([['http', 'body'], s.http.body]);
        }
        if (s.command) for (const [k, v] of Object.entries(s.command.env)) fields.push([['command', 'env', k], v]);
        for (const [path, text] of fields) {
          for (const n of secretNames(text)) {
            if (!names.has(n)) errors.push({ path: ['spec', 'steps', i, ...path], message: `no secret named "${n}"; store it first (keel paging secret set ${n})` });
          }
        }
      });
      return errors;
    },
  };
}

/**
 * The people, schedules and SLOs keel steps name (a template is resolved only when the run starts):
 * a page to a schedule that does not exist would reach nobody, in an outage.
 */
function references(spec: RunbookSpec, ctx: ValidationContext): FieldError[] {
  const errors: FieldError[] = [];
  const fixed = (v: string) => !v.includes('{{');
  spec.steps.forEach((s, i) => {
    const k = s.keel;
    if (!k) return;
    const at = ['spec', 'steps', i, 'keel'];
    (k.users ?? []).forEach((u, j) => fixed(u) && errors.push(...missingReference(ctx, 'User', u, [...at, 'users', j])));
    (k.schedules ?? []).forEach((u, j) => fixed(u) && errors.push(...missingReference(ctx, 'Schedule', u, [...at, 'schedules', j])));
    if (k.slo !== undefined && fixed(k.slo)) errors.push(...missingReference(ctx, 'SLO', k.slo, [...at, 'slo']));
  });
  return errors;
}
