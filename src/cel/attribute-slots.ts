/**
 * Numbering of the event attributes that compiled expressions read. Every expression compiled
 * against one `AttributeSlots` reads its attributes from the same record array, so an event is
 * scanned once for all of a tenant's SLOs, extracting only the attributes some expression uses.
 * Slot 0 is always the event's `ts`.
 */
export const TS_SLOT = 0;

export class AttributeSlots {
  private readonly byKey = new Map<string, number>();
  readonly paths: string[][] = [];

  /** Whether an expression reads `ts` itself (not only the fold, for bucketing). */
  tsReferenced = false;

  constructor() {
    this.slot(['ts']);
    this.tsReferenced = false;
  }

  /** Slot of an attribute path (segments of a dotted path), assigned on first use. */
  slot(path: readonly string[]): number {
    if (path.length === 1 && path[0] === 'ts') this.tsReferenced = true;
    const key = path.join('\u0000');
    let s = this.byKey.get(key);
    if (s === undefined) {
      s = this.paths.length;
      this.paths.push([...path]);
      this.byKey.set(key, s);
    }
    return s;
  }

  get size(): number {
    return this.paths.length;
  }
}

/** `http.status` for ['http', 'status']; segments that are not identifiers are quoted. */
export function formatPath(path: readonly string[]): string {
  return path.map((p, i) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(p) ? (i === 0 ? p : `.${p}`) : `[${JSON.stringify(p)}]`)).join('');
}
