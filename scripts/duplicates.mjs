#!/usr/bin/env node
// Copy-paste check of src/ (part of `npm run lint`): jscpd (pinned in package.json) finds repeated
// token sequences of at least 50 tokens; every clone fails the lint unless its pair of files is
// listed below with the reason it stays. A listed pair that no longer repeats fails too, so the
// list only shrinks. Usage: node scripts/duplicates.mjs [DIR] (default src).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const dir = process.argv[2] ?? 'src';

/** Pairs of files (either order) allowed to repeat each other, each with why. */
const allowed = [
  // Migrations are never edited once on main (docs/DEVELOPING.md), so a column set repeated in a later migration stays.
  ['store/migrations/0001_tenants_keys.ts', 'store/migrations/0200_paging.ts', 'migrations are frozen once committed'],
  ['store/migrations/0002_audit.ts', 'store/migrations/0403_audit_pending.ts', 'migrations are frozen once committed'],
  ['store/migrations/0004_alerts_positions.ts', 'store/migrations/0100_slo.ts', 'migrations are frozen once committed'],
  // Declarations: each benchmark prints its own result table.
  ['cli/commands/bench-paging.ts', 'cli/commands/bench.ts', 'two benchmarks print their result lines the same way (declarative output, no logic)'],
  // The benchmark times the audit chain's canonical form over many rows on its own, without the store.
  // Areas other branches are changing now (issue 11 phase B, after they merge):
  ['slo/routes.ts', 'slo/routes.ts', 'issue 11 phase B: src/slo is being changed on another branch'],
  ['slo/status.ts', 'slo/status.ts', 'issue 11 phase B: src/slo is being changed on another branch'],
  ['slo/windows.ts', 'slo/windows.ts', 'issue 11 phase B: src/slo is being changed on another branch'],
  ['bench/slo-bench.ts', 'bench/slo-bench.ts', 'issue 11 phase B: src/slo and its benchmark are being changed on another branch'],
];

const out = mkdtempSync(join(tmpdir(), 'keel-jscpd-'));
try {
  const bin = join(root, 'node_modules', '.bin', 'jscpd');
  const r = spawnSync(bin, [dir, '--min-tokens', '50', '--reporters', 'json', '--output', out, '--silent'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0 && r.status !== null && !r.stdout && r.stderr) {
    console.error(`jscpd failed: ${r.stderr}`);
    process.exit(1);
  }
  const report = JSON.parse(readFileSync(join(out, 'jscpd-report.json'), 'utf8'));
  const key = (a, b) => [a, b].sort().join(' <-> ');
  const allowedKeys = new Map(allowed.map(([a, b, why]) => [key(a, b), why]));
  const found = new Set();
  const problems = [];
  for (const d of report.duplicates) {
    const a = d.firstFile.name;
    const b = d.secondFile.name;
    const k = key(a, b);
    found.add(k);
    if (allowedKeys.has(k)) continue;
    problems.push(
      `repeated code (${d.lines} lines, ${d.tokens} tokens): ${dir}/${a}:${d.firstFile.start}-${d.firstFile.end} and ${dir}/${b}:${d.secondFile.start}-${d.secondFile.end}; share it, or list the pair with its reason in scripts/duplicates.mjs`,
    );
  }
  if (dir === 'src') for (const k of allowedKeys.keys()) if (!found.has(k)) problems.push(`scripts/duplicates.mjs allows ${k}, which no longer repeats: remove the entry`);
  if (problems.length) {
    console.error(problems.join('\n'));
    process.exit(1);
  }
  console.log(`duplicates: ${report.statistics.total.sources} files, ${report.duplicates.length} allowed clones (${allowed.length} listed with reasons)`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
