/** Field-level differences between two JSON values, for plans and the version history. */
export interface FieldDiff {
  path: string;
  before?: unknown;
  after?: unknown;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function join(base: string, key: string | number): string {
  return typeof key === 'number' ? `${base}[${key}]` : base ? `${base}.${key}` : key;
}

export function diffJson(before: unknown, after: unknown, path = ''): FieldDiff[] {
  if (isObject(before) && isObject(after)) {
    const out: FieldDiff[] = [];
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    for (const k of [...keys].sort()) {
      if (!(k in after)) out.push({ path: join(path, k), before: before[k] });
      else if (!(k in before)) out.push({ path: join(path, k), after: after[k] });
      else out.push(...diffJson(before[k], after[k], join(path, k)));
    }
    return out;
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    return before.flatMap((b, i) => diffJson(b, after[i], join(path, i)));
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  return [{ path: path || '(document)', before, after }];
}

/** JSON with object keys sorted, so equal documents compare equal whatever the key order. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObject(v))
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys(v[k])]),
    );
  return v;
}
