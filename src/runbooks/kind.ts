/** `keel/v1 Runbook`: parsed and checked at `plan` (templates, CEL, skips), stored as a definition. */
import type { KindHandler } from '../definitions/kinds.js';
import { specParser, type WithMetadata } from '../definitions/spec-parser.js';
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
      const names = ctx.loaded('Runbook');
      if (!(names instanceof Set)) return [];
      const errors: { path: (string | number)[]; message: string }[] = [];
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
