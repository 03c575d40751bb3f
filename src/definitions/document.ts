/**
 * A stored definition as the YAML document that defines it, so `keel get <kind> <name> -o yaml`
 * can be applied again as is. Kinds store `{ metadata, ...spec }` (see spec-parser.ts); a kind
 * whose parse reshapes its document gives the way back with `KindHandler.toDocument`.
 */
import type { Definition, KindHandler } from './kinds.js';

export interface DefinitionDocument {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown> & { name: string };
  spec: Record<string, unknown>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function definitionDocument(def: Pick<Definition, 'apiVersion' | 'kind' | 'name' | 'spec'>, handler?: KindHandler): DefinitionDocument {
  const stored = isRecord(def.spec) ? def.spec : {};
  let metadata: Record<string, unknown>;
  let spec: Record<string, unknown>;
  if (handler?.toDocument) ({ metadata, spec } = handler.toDocument(stored));
  else {
    const { metadata: m, ...rest } = stored;
    metadata = isRecord(m) ? m : {};
    spec = rest;
  }
  return { apiVersion: def.apiVersion, kind: def.kind, metadata: { ...metadata, name: def.name }, spec };
}
