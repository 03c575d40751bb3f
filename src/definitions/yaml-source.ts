/**
 * Reads definition files (YAML, several documents per file) and keeps, for every document, a way
 * to find the line of any field path, so an error can say `slos.yaml:14 spec.objectives[0].target`.
 */
import YAML, { LineCounter, isMap, isSeq, type Document, type Node } from 'yaml';

export interface SourceText {
  /** Name shown in errors (a path relative to where the user ran the CLI). */
  file: string;
  content: string;
}

export interface DefinitionError {
  file: string;
  line: number;
  /** Dotted field path inside the document, e.g. `spec.objectives[0].target`; "" for the document. */
  path: string;
  message: string;
  kind?: string;
  name?: string;
}

export interface RawDocument {
  file: string;
  /** 1-based line where the document starts. */
  line: number;
  /** 0-based index of the document in its file. */
  index: number;
  value: unknown;
  /** Line of a field path (falls back to the nearest existing parent). */
  lineOf(path: readonly (string | number)[]): number;
}

export function readSources(sources: SourceText[]): { docs: RawDocument[]; errors: DefinitionError[] } {
  const docs: RawDocument[] = [];
  const errors: DefinitionError[] = [];
  for (const src of sources) {
    const lc = new LineCounter();
    let parsed: Document.Parsed[];
    try {
      parsed = YAML.parseAllDocuments(src.content, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
    } catch (e) {
      errors.push({ file: src.file, line: 1, path: '', message: `not valid YAML: ${(e as Error).message}` });
      continue;
    }
    if (!Array.isArray(parsed)) parsed = [parsed as unknown as Document.Parsed];
    parsed.forEach((doc, index) => {
      const startLine = doc.contents?.range ? lc.linePos(doc.contents.range[0]).line : 1;
      if (doc.errors.length > 0) {
        for (const e of doc.errors) {
          const line = e.linePos?.[0]?.line ?? (e.pos ? lc.linePos(e.pos[0]).line : startLine);
          errors.push({ file: src.file, line, path: '', message: `not valid YAML: ${e.message.split('\n')[0]}` });
        }
        return;
      }
      if (doc.contents === null) return; // an empty document (e.g. a trailing ---)
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: 100 });
      } catch (e) {
        // Alias bombs ("billion laughs") and other documents that cannot become values.
        errors.push({ file: src.file, line: startLine, path: '', message: `not valid YAML: ${(e as Error).message}` });
        return;
      }
      docs.push({
        file: src.file,
        line: startLine,
        index,
        value,
        lineOf: (path) => lineOfPath(doc, lc, path, startLine),
      });
    });
  }
  return { docs, errors };
}

function lineOfPath(doc: Document.Parsed, lc: LineCounter, path: readonly (string | number)[], fallback: number): number {
  let node: Node | null | undefined = doc.contents as Node | null;
  let line = fallback;
  for (const key of path) {
    if (!node) break;
    if (node.range) line = lc.linePos(node.range[0]).line;
    if (isMap(node)) {
      const pair = node.items.find((p) => {
        const k = p.key as { value?: unknown } | null;
        return k !== null && typeof k === 'object' && k.value === key;
      });
      if (!pair) break;
      const k = pair.key as Node | null;
      if (k?.range) line = lc.linePos(k.range[0]).line;
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key] as Node | null;
    } else break;
  }
  if (node?.range && path.length > 0) {
    const l = lc.linePos(node.range[0]).line;
    if (l >= line) line = l;
  }
  return line;
}

export function formatErrors(errors: DefinitionError[]): string {
  return errors.map((e) => `${e.file}:${e.line}${e.kind ? ` ${e.kind}${e.name ? `/${e.name}` : ''}` : ''}${e.path ? ` ${e.path}` : ''}: ${e.message}`).join('\n');
}
