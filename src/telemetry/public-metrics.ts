/**
 * The metrics anyone may scrape: the full exposition with every label that could name someone
 * (a tenant, an SLO, a service, a paged person's email, a channel) taken out. Counters and
 * histograms are summed over what was taken out (a rate over all tenants is still a rate);
 * gauges and summaries carrying such labels are left out (a mean time to acknowledge summed over
 * tenants means nothing). Labels are allowed by name, so a label added later stays hidden until
 * it is listed here as naming no one. Pure: text in, text out.
 */

/** Labels whose values name no tenant, person or thing of a tenant. */
export const PUBLIC_LABELS: ReadonlySet<string> = new Set([
  // Keel's own: HTTP route templates and statuses, outcomes and reasons (fixed vocabularies),
  // log consumers and partitions, leaderships, incident severities, SLO objective index and goodness.
  'method',
  'route',
  'status',
  'outcome',
  'reason',
  'result',
  'consumer',
  'partition',
  'leadership',
  // Dependencies and scrape sources of the process (fixed vocabularies: postgres, nats, log, ...).
  'dependency',
  'source',
  'severity',
  'objective',
  'good',
  'role',
  // what a TLS certificate is for (server, client): a fixed vocabulary.
  'use',
  // which of Keel's own outcomes (ingest, freshness, notification): a fixed vocabulary.
  'signal',
  // prom-client's process and Node.js metrics.
  'le',
  'quantile',
  'kind',
  'space',
  'type',
  'version',
  'major',
  'minor',
  'patch',
]);

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

interface Family {
  header: string[];
  type: string;
  samples: Map<string, { name: string; labels: string; value: number }>;
}

function parseValue(v: string): number {
  if (v === '+Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  return Number(v);
}

function formatValue(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  return String(v);
}

/** The exposition without identifying labels (see the file comment). */
export function publicExposition(text: string): string {
  const families: Family[] = [];
  let current: Family | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# HELP ')) {
      current = { header: [line], type: 'untyped', samples: new Map() };
      families.push(current);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      if (!current || current.header.length > 1) {
        current = { header: [], type: 'untyped', samples: new Map() };
        families.push(current);
      }
      current.header.push(line);
      current.type = line.split(/\s+/)[3] ?? 'untyped';
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m || !current) continue;
    const [, name, rawLabels = '', value] = m;
    const kept: string[] = [];
    let hidden = false;
    for (const l of rawLabels.matchAll(LABEL)) {
      if (PUBLIC_LABELS.has(l[1]!)) kept.push(`${l[1]}="${l[2]}"`);
      else hidden = true;
    }
    if (hidden && current.type !== 'counter' && current.type !== 'histogram') continue;
    const labels = kept.join(',');
    const key = `${name}{${labels}}`;
    const prior = current.samples.get(key);
    if (prior) prior.value += parseValue(value!);
    else current.samples.set(key, { name: name!, labels, value: parseValue(value!) });
  }
  const out: string[] = [];
  for (const f of families) {
    out.push(...f.header);
    for (const s of f.samples.values()) out.push(`${s.name}${s.labels ? `{${s.labels}}` : ''} ${formatValue(s.value)}`);
    out.push('');
  }
  return out.join('\n');
}
