/** Turns zod issues into definition field errors with paths rooted at the document. */
import type { z } from 'zod';
import type { FieldError, ParseResult } from './kinds.js';

export function zodFieldErrors(error: z.ZodError, prefix: (string | number)[] = []): FieldError[] {
  return error.issues.map((i) => ({
    path: [...prefix, ...(i.path as (string | number)[])],
    message: i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : i.message,
  }));
}

/** Parses `value` with `schema`; errors get `prefix` (e.g. ['spec']) in front of their paths. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, prefix: (string | number)[] = []): ParseResult<T> {
  const r = schema.safeParse(value);
  return r.success ? { ok: true, spec: r.data } : { ok: false, errors: zodFieldErrors(r.error, prefix) };
}
