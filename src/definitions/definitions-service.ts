/**
 * `keel plan` and `keel apply`: documents in, a plan out, and an atomic apply. Every document is
 * parsed by its kind's handler and checked against the whole desired state; any error refuses
 * the whole set, each error located by file, line and field path. An apply writes the
 * definitions, their versions (who, when, diff) and the kinds' domain tables in one transaction.
 */
import type { Clock } from '../core/clock.js';
import type { Bus } from '../core/bus.js';
import { KeelError } from '../core/errors.js';
import { formatPath } from '../core/config.js';
import type { Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { canonicalJson, diffJson, type FieldDiff } from './diff.js';
import { definitionDocument, type DefinitionDocument } from './document.js';
import type { Definition, DefinitionChange, KindHandler, KindRegistry, ValidationContext } from './kinds.js';
import { formatErrors, readSources, type DefinitionError, type RawDocument, type SourceText } from './yaml-source.js';

declare module '../core/bus.js' {
  interface BusEvents {
    'definitions.applied': { tenant: string; changes: DefinitionChange[]; actor: string };
  }
}

export const NAME_PATTERN = /^[a-z0-9]([a-z0-9._-]{0,126}[a-z0-9])?$/;

export interface PlanItem {
  action: 'create' | 'update' | 'delete' | 'unchanged';
  kind: string;
  name: string;
  file?: string;
  line?: number;
  diff: FieldDiff[];
}

export interface Plan {
  items: PlanItem[];
  summary: { create: number; update: number; delete: number; unchanged: number };
  /** Located like errors, but they do not stop the apply. */
  warnings: DefinitionError[];
}

interface Desired {
  def: Definition;
  doc: RawDocument;
}

export class DefinitionsService {
  constructor(
    private readonly store: Store,
    private readonly registry: KindRegistry,
    private readonly clock: Clock,
    private readonly bus: Bus,
  ) {}

  async list(tenant: string, kind?: string): Promise<Definition[]> {
    let q = this.store.db.selectFrom('definitions').selectAll().where('tenant_id', '=', tenant).orderBy('kind').orderBy('name');
    if (kind) q = q.where('kind', '=', kind);
    return (await q.execute()).map(toDefinition);
  }

  /** The definition with the document that defines it (`keel get -o yaml` prints it; apply takes it back as is). */
  withDocument(def: Definition): Definition & { document: DefinitionDocument } {
    return { ...def, document: definitionDocument(def, this.registry.byName(def.kind)) };
  }

  async get(tenant: string, kind: string, name: string): Promise<Definition | undefined> {
    const row = await this.store.db.selectFrom('definitions').selectAll().where('tenant_id', '=', tenant).where('kind', '=', kind).where('name', '=', name).executeTakeFirst();
    return row && toDefinition(row);
  }

  async history(tenant: string, kind: string, name: string) {
    const rows = await this.store.db.selectFrom('definition_versions').selectAll().where('tenant_id', '=', tenant).where('kind', '=', kind).where('name', '=', name).orderBy('version').execute();
    return rows.map((r) => ({
      version: Number(r.version),
      action: r.action,
      at: new Date(Number(r.at)).toISOString(),
      actor: r.actor,
      diff: JSON.parse(r.diff_json) as FieldDiff[],
      spec: r.spec_json === null ? null : (JSON.parse(r.spec_json) as unknown),
    }));
  }

  /** Parses and validates; throws 400 with every error, or returns the plan and the desired set. */
  private async prepare(tenant: string, sources: SourceText[], prune: boolean): Promise<{ plan: Plan; changes: DefinitionChange[] }> {
    const { docs, errors } = readSources(sources);
    const desired = new Map<string, Desired>();
    for (const doc of docs) this.parseDocument(doc, desired, errors);
    const current = await this.list(tenant);
    const currentByKey = new Map(current.map((d) => [`${d.kind}/${d.name}`, d]));
    // The state after the change: current definitions, replaced or joined by the desired ones,
    // minus those a prune removes.
    const after = new Map<string, Definition>();
    if (!prune) for (const d of current) after.set(`${d.kind}/${d.name}`, d);
    for (const [k, d] of desired) after.set(k, d.def);
    const loaded = new Map<string, unknown>();
    for (const kind of new Set([...desired.values()].map((d) => d.def.kind))) {
      const handler = this.registry.byName(kind);
      if (handler?.load) loaded.set(kind, await handler.load(this.store.db, tenant));
    }
    const ctx: ValidationContext = {
      tenant,
      get: (kind, name) => after.get(`${kind}/${name}`),
      all: (kind) => [...after.values()].filter((d) => d.kind === kind),
      loaded: (kind) => loaded.get(kind),
    };
    const warnings: DefinitionError[] = [];
    for (const { def, doc } of desired.values()) {
      const handler = this.registry.byName(def.kind)!;
      for (const e of handler.validate?.(def.spec, def.name, ctx) ?? []) {
        errors.push({ file: doc.file, line: doc.lineOf(e.path), path: formatPath(e.path), message: e.message, kind: def.kind, name: def.name });
      }
      for (const w of (await handler.warnings?.(def.spec, def.name, ctx)) ?? []) {
        warnings.push({ file: doc.file, line: doc.lineOf(w.path), path: formatPath(w.path), message: w.message, kind: def.kind, name: def.name });
      }
    }
    for (const def of after.values()) {
      if (desired.has(`${def.kind}/${def.name}`)) continue;
      const handler = this.registry.byName(def.kind);
      if (!handler?.warnings || ![...desired.values()].some((d) => handler.warnsAbout?.(def.name, d.def))) continue;
      for (const w of await handler.warnings(def.spec, def.name, ctx)) {
        warnings.push({ file: '(stored)', line: 0, path: formatPath(w.path), message: w.message, kind: def.kind, name: def.name });
      }
    }
    const changes: DefinitionChange[] = [];
    const items: PlanItem[] = [];
    for (const { def, doc } of desired.values()) {
      const before = currentByKey.get(`${def.kind}/${def.name}`);
      if (!before) {
        changes.push({ action: 'create', kind: def.kind, name: def.name, after: def });
        items.push({ action: 'create', kind: def.kind, name: def.name, file: doc.file, line: doc.line, diff: diffJson({}, def.spec) });
      } else if (canonicalJson(before.spec) !== canonicalJson(def.spec) || before.apiVersion !== def.apiVersion) {
        const next = { ...def, version: before.version + 1 };
        changes.push({ action: 'update', kind: def.kind, name: def.name, before, after: next });
        items.push({ action: 'update', kind: def.kind, name: def.name, file: doc.file, line: doc.line, diff: diffJson(before.spec, def.spec) });
      } else {
        items.push({ action: 'unchanged', kind: def.kind, name: def.name, file: doc.file, line: doc.line, diff: [] });
      }
    }
    if (prune) {
      for (const d of current) {
        const key = `${d.kind}/${d.name}`;
        if (desired.has(key)) continue;
        const handler = this.registry.byName(d.kind);
        for (const e of handler?.validateDelete?.(d.name, ctx) ?? []) {
          errors.push({ file: '(prune)', line: 0, path: formatPath(e.path), message: e.message, kind: d.kind, name: d.name });
        }
        changes.push({ action: 'delete', kind: d.kind, name: d.name, before: d });
        items.push({ action: 'delete', kind: d.kind, name: d.name, diff: diffJson(d.spec, {}) });
      }
    }
    if (errors.length > 0) throw invalid(errors);
    const order = (kind: string) => this.registry.byName(kind)?.order ?? 0;
    // Creates and updates in dependency order; deletes in reverse, referrers first.
    changes.sort((a, b) => {
      if ((a.action === 'delete') !== (b.action === 'delete')) return a.action === 'delete' ? 1 : -1;
      return a.action === 'delete' ? order(b.kind) - order(a.kind) : order(a.kind) - order(b.kind);
    });
    const summary = { create: 0, update: 0, delete: 0, unchanged: 0 };
    for (const i of items) summary[i.action]++;
    return { plan: { items, summary, warnings }, changes };
  }

  private parseDocument(doc: RawDocument, desired: Map<string, Desired>, errors: DefinitionError[]): void {
    const at = (path: (string | number)[], message: string, kind?: string, name?: string): void => {
      errors.push({ file: doc.file, line: doc.lineOf(path), path: formatPath(path), message, ...(kind ? { kind } : {}), ...(name ? { name } : {}) });
    };
    const v = doc.value;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return at([], 'a definition must be a YAML mapping with apiVersion, kind, metadata and spec');
    const d = v as Record<string, unknown>;
    if (typeof d.apiVersion !== 'string') return at(['apiVersion'], 'apiVersion is required (e.g. openslo/v1 or keel/v1)');
    if (typeof d.kind !== 'string') return at(['kind'], 'kind is required');
    const handler = this.registry.find(d.apiVersion, d.kind);
    if (!handler) return at(['kind'], `unknown kind ${d.apiVersion}/${d.kind}; known kinds: ${this.registry.describe()}`);
    const meta = d.metadata as Record<string, unknown> | undefined;
    const name = meta?.name;
    if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
      at(
        ['metadata', 'name'],
        name === undefined || name === null || name === ''
          ? 'metadata.name is required: lowercase letters, digits, ".", "-" or "_"'
          : `metadata.name ${JSON.stringify(name)} must be lowercase letters, digits, ".", "-" or "_"`,
        d.kind,
      );
      // The rest of the document is still checked, so one pass shows every error.
      const parsed = handler.parse(d);
      if (!parsed.ok) for (const e of parsed.errors) if (formatPath(e.path) !== 'metadata.name') at(e.path, e.message, d.kind);
      return;
    }
    const key = `${handler.kind}/${name}`;
    const dup = desired.get(key);
    if (dup) return at([], `${key} is defined twice (also at ${dup.doc.file}:${dup.doc.line})`, d.kind, name);
    const parsed = handler.parse(d);
    if (!parsed.ok) {
      for (const e of parsed.errors) at(e.path, e.message, d.kind, name);
      return;
    }
    desired.set(key, {
      doc,
      def: { kind: handler.kind, name, apiVersion: d.apiVersion, spec: parsed.spec, version: 1, updatedAt: 0, updatedBy: '' },
    });
  }

  async plan(tenant: string, sources: SourceText[], options: { prune?: boolean } = {}): Promise<Plan> {
    return (await this.prepare(tenant, sources, options.prune ?? false)).plan;
  }

  async apply(tenant: string, sources: SourceText[], actor: string, options: { prune?: boolean } = {}): Promise<Plan> {
    const { plan, changes } = await this.prepare(tenant, sources, options.prune ?? false);
    if (changes.length === 0) return plan;
    const now = this.clock.now();
    await this.inTransaction(async (trx) => {
      for (const c of changes) {
        const handler = this.registry.byName(c.kind);
        // A definition created again after a delete continues its history (versions stay unique).
        const version = c.action === 'create' ? (await lastVersion(trx, tenant, c.kind, c.name)) + 1 : c.before!.version + 1;
        if (c.after) {
          c.after = { ...c.after, version, updatedAt: now, updatedBy: actor };
        }
        const diff = diffJson(c.before?.spec ?? {}, c.after?.spec ?? {});
        if (c.action === 'delete') {
          await trx.deleteFrom('definitions').where('tenant_id', '=', tenant).where('kind', '=', c.kind).where('name', '=', c.name).execute();
        } else {
          const row = {
            tenant_id: tenant,
            kind: c.kind,
            name: c.name,
            api_version: c.after!.apiVersion,
            spec_json: JSON.stringify(c.after!.spec),
            version,
            updated_at: now,
            updated_by: actor,
          };
          await trx
            .insertInto('definitions')
            .values(row)
            .onConflict((oc) =>
              oc.columns(['tenant_id', 'kind', 'name']).doUpdateSet({
                api_version: row.api_version,
                spec_json: row.spec_json,
                version: row.version,
                updated_at: row.updated_at,
                updated_by: row.updated_by,
              }),
            )
            .execute();
        }
        await trx
          .insertInto('definition_versions')
          .values({
            tenant_id: tenant,
            kind: c.kind,
            name: c.name,
            version,
            action: c.action,
            spec_json: c.after ? JSON.stringify(c.after.spec) : null,
            diff_json: JSON.stringify(diff),
            at: now,
            actor,
          })
          .execute();
        await handler?.onChange?.(trx, tenant, c);
      }
      await this.runAfterApply(trx, tenant, changes);
    });
    this.bus.emit('definitions.applied', { tenant, changes, actor });
    return plan;
  }

  /** Each distinct `afterApply` of the changed kinds, once. */
  private async runAfterApply(trx: Transaction<Database>, tenant: string, changes: DefinitionChange[]): Promise<void> {
    const hooks = new Set<NonNullable<KindHandler['afterApply']>>();
    for (const c of changes) {
      const hook = this.registry.byName(c.kind)?.afterApply;
      if (hook) hooks.add(hook);
    }
    for (const hook of hooks) await hook(trx, tenant);
  }

  /** Runs an apply; a concurrent apply of the same definitions makes the later one a 409. */
  private async inTransaction(fn: (trx: Transaction<Database>) => Promise<void>): Promise<void> {
    try {
      await this.store.db.transaction().execute(fn);
    } catch (e) {
      const err = e as { code?: string; message?: string };
      if (err.code === '23505' || /UNIQUE constraint/.test(err.message ?? '')) {
        throw new KeelError('conflict', 'the definitions changed while this apply ran; plan and apply again');
      }
      throw e;
    }
  }

  /** Deletes one definition (refused while others reference it). */
  async remove(tenant: string, kind: string, name: string, actor: string): Promise<Definition> {
    const current = await this.get(tenant, kind, name);
    if (!current) throw new KeelError('not_found', `${kind}/${name} not found`);
    const all = await this.list(tenant);
    const after = new Map(all.filter((d) => !(d.kind === kind && d.name === name)).map((d) => [`${d.kind}/${d.name}`, d]));
    const ctx: ValidationContext = {
      tenant,
      get: (k, n) => after.get(`${k}/${n}`),
      all: (k) => [...after.values()].filter((d) => d.kind === k),
      loaded: () => undefined,
    };
    const errs = this.registry.byName(kind)?.validateDelete?.(name, ctx) ?? [];
    if (errs.length) {
      throw new KeelError('conflict', errs.map((e) => e.message).join('; '));
    }
    const now = this.clock.now();
    const change: DefinitionChange = { action: 'delete', kind, name, before: current };
    await this.inTransaction(async (trx) => {
      await trx.deleteFrom('definitions').where('tenant_id', '=', tenant).where('kind', '=', kind).where('name', '=', name).execute();
      await trx
        .insertInto('definition_versions')
        .values({
          tenant_id: tenant,
          kind,
          name,
          version: current.version + 1,
          action: 'delete',
          spec_json: null,
          diff_json: JSON.stringify(diffJson(current.spec, {})),
          at: now,
          actor,
        })
        .execute();
      await this.registry.byName(kind)?.onChange?.(trx, tenant, change);
      await this.runAfterApply(trx, tenant, [change]);
    });
    this.bus.emit('definitions.applied', { tenant, changes: [change], actor });
    return current;
  }
}

async function lastVersion(trx: Transaction<Database>, tenant: string, kind: string, name: string): Promise<number> {
  const row = await trx
    .selectFrom('definition_versions')
    .select((eb) => eb.fn.max('version').as('v'))
    .where('tenant_id', '=', tenant)
    .where('kind', '=', kind)
    .where('name', '=', name)
    .executeTakeFirst();
  return Number(row?.v ?? 0);
}

function invalid(errors: DefinitionError[]): KeelError {
  return new KeelError('validation_failed', `definitions refused, nothing was applied (${errors.length} error${errors.length === 1 ? '' : 's'}):\n${formatErrors(errors)}`, {
    details: errors.map((e) => ({ ...e, path: e.path, message: e.message })),
  });
}

function toDefinition(r: { kind: string; name: string; api_version: string; spec_json: string; version: number; updated_at: number; updated_by: string }): Definition {
  return {
    kind: r.kind,
    name: r.name,
    apiVersion: r.api_version,
    spec: JSON.parse(r.spec_json) as unknown,
    version: Number(r.version),
    updatedAt: Number(r.updated_at),
    updatedBy: r.updated_by,
  };
}
