/**
 * The usual `parse` of a kind: the document envelope (apiVersion, kind, metadata) around a
 * strict spec schema; the stored spec is the parsed spec with the metadata beside it.
 */
import type { z } from 'zod';
import type { FieldError, ParseResult } from './kinds.js';
import { documentSchema, type Metadata } from './metadata.js';
import { parseWith } from './zod-errors.js';

export type WithMetadata<T> = T & { metadata: Metadata };

export function specParser<S extends z.ZodType>(spec: S, check?: (spec: z.output<S>) => FieldError[]): (doc: Record<string, unknown>) => ParseResult<WithMetadata<z.output<S>>> {
  const schema = documentSchema(spec);
  return (doc) => {
    const r = parseWith(schema, { ...doc, spec: doc.spec ?? {} });
    if (!r.ok) return r;
    const parsed = r.spec as { metadata: Metadata; spec: z.output<S> };
    const errors = check?.(parsed.spec) ?? [];
    if (errors.length) return { ok: false, errors: errors.map((e) => ({ ...e, path: ['spec', ...e.path] })) };
    return { ok: true, spec: { metadata: parsed.metadata, ...(parsed.spec as object) } as WithMetadata<z.output<S>> };
  };
}

/** An error when `name` is not a definition of `kind` in the desired state. */
export function missingReference(ctx: { get(kind: string, name: string): unknown }, kind: string, name: string, path: (string | number)[]): FieldError[] {
  return ctx.get(kind, name) ? [] : [{ path, message: `no ${kind} named "${name}"` }];
}
