/**
 * Definition kinds. Each domain registers the kinds it owns (OpenSLO's SLO, SLI, Service...;
 * Keel's Schedule, EscalationPolicy...) with a parser and optional cross-document checks; the
 * definitions service does the rest: reading files, planning, applying atomically, versioning.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/schema.js';

export interface FieldError {
  /** Path inside the document, as segments, e.g. ['spec', 'objectives', 0, 'target']. */
  path: (string | number)[];
  message: string;
}

export type ParseResult<T> = { ok: true; spec: T } | { ok: false; errors: FieldError[] };

/** A stored definition: identity, the normalised spec, and bookkeeping. */
export interface Definition<T = unknown> {
  kind: string;
  name: string;
  apiVersion: string;
  /** Normalised document (what `keel get` prints and what diffs compare). */
  spec: T;
  version: number;
  updatedAt: number;
  updatedBy: string;
}

/** What other definitions a kind can see while validating: the desired state after the change. */
export interface ValidationContext {
  tenant: string;
  get(kind: string, name: string): Definition | undefined;
  all(kind: string): Definition[];
  /** What the kind's `load` read for this plan (undefined when it has none). */
  loaded(kind: string): unknown;
}

export interface DefinitionChange {
  action: 'create' | 'update' | 'delete';
  kind: string;
  name: string;
  before?: Definition;
  after?: Definition;
}

export interface KindHandler<T = unknown> {
  /** Accepted apiVersion values, e.g. ['openslo/v1']. */
  apiVersions: string[];
  kind: string;
  /** Lower applies first, so referenced kinds exist before their referrers (e.g. Service < SLO). */
  order: number;
  /** Parses one document (already known to have this apiVersion and kind) into its normalised form. */
  parse(document: Record<string, unknown>): ParseResult<T>;
  /**
   * Reads, once per plan, what `validate` and `warnings` need beyond definitions (e.g. which named
   * secrets exist), so those stay synchronous; they see it as `ctx.loaded(kind)`.
   */
  load?(db: Kysely<Database>, tenant: string): Promise<unknown>;
  /** Checks against the other definitions: references resolve, names don't clash, and so on. */
  validate?(spec: T, name: string, ctx: ValidationContext): FieldError[];
  /** Doubts that do not refuse the document (e.g. a filter on an attribute no recent event has); shown with the plan. May read data. */
  warnings?(spec: T, name: string, ctx: ValidationContext): FieldError[] | Promise<FieldError[]>;
  /**
   * Whether a change to `changed` can change the warnings of this kind's stored definition `name`
   * (a Service warns about its SLOs): a plan that changes such a definition also shows that stored
   * one's warnings, so applying an SLO alone still says its service would page nobody.
   */
  warnsAbout?(name: string, changed: Definition): boolean;
  /** Refuses deleting something others still reference. */
  validateDelete?(name: string, ctx: ValidationContext): FieldError[];
  /**
   * The stored spec as a document's metadata and spec, for kinds whose parse reshapes the document
   * (refs and inline items); default: the metadata beside the spec's fields (spec-parser.ts).
   */
  toDocument?(spec: T): { metadata: Record<string, unknown>; spec: Record<string, unknown> };
  /** Updates domain tables in the apply transaction (same commit as the definition itself). */
  onChange?(trx: Transaction<Database>, tenant: string, change: DefinitionChange): Promise<void>;
  /**
   * Updates domain tables once per apply, after every change of the apply is written, when any
   * definition of this kind changed. Kinds that share one function (the SLO kinds) run it once:
   * a domain that derives its state from all its definitions together (SLO generations) does so
   * once per apply instead of once per document, which made applying n SLOs cost n².
   */
  afterApply?(trx: Transaction<Database>, tenant: string): Promise<void>;
}

export class KindRegistry {
  private readonly byKey = new Map<string, KindHandler>();
  private readonly byKind = new Map<string, KindHandler>();

  register<T>(handler: KindHandler<T>): void {
    for (const v of handler.apiVersions) {
      const key = `${v}/${handler.kind}`;
      if (this.byKey.has(key)) throw new Error(`kind ${key} registered twice`);
      this.byKey.set(key, handler as KindHandler);
    }
    this.byKind.set(handler.kind, handler as KindHandler);
  }

  find(apiVersion: string, kind: string): KindHandler | undefined {
    return this.byKey.get(`${apiVersion}/${kind}`);
  }

  byName(kind: string): KindHandler | undefined {
    return this.byKind.get(kind);
  }

  kinds(): KindHandler[] {
    return [...this.byKind.values()].sort((a, b) => a.order - b.order);
  }

  describe(): string {
    return [...this.byKey.keys()].sort().join(', ');
  }
}
