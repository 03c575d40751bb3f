#!/usr/bin/env node
// `npm run test:mutation [-- module…] [--force]`: StrykerJS on the modules behind the guarantees
// (test/mutation/modules.mjs), one module at a time, incrementally; then the score per module and
// every surviving mutant. Reports: reports/mutation/<module>.json (+ .html).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { MODULES } from '../test/mutation/modules.mjs';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const args = process.argv.slice(2);
const force = args.includes('--force');
const reportOnly = args.includes('--report');
const wanted = args.filter((a) => !a.startsWith('--'));
for (const m of wanted) if (!MODULES[m]) throw new Error(`unknown module ${m}; modules: ${Object.keys(MODULES).join(', ')}`);
const names = wanted.length ? wanted : Object.keys(MODULES);
mkdirSync(join(root, 'test/mutation/incremental'), { recursive: true });

/**
 * A module's `skip` leaves out a stretch of a file (code that only paces a loop): from the first
 * line containing `from` up to, not including, the next line containing `to`. Found by content,
 * not line numbers, so a change elsewhere in the file does not move it; a marker that is gone
 * stops the run instead of mutating the wrong lines.
 */
function mutateSpecs(m) {
  return m.mutate.flatMap((file) => {
    const skips = (m.skip ?? []).filter((s) => s.file === file);
    if (skips.length === 0) return [file];
    const lines = readFileSync(join(root, file), 'utf8').split('\n');
    const out = [];
    let start = 1;
    for (const s of skips) {
      const a = lines.findIndex((l, i) => i + 1 >= start && l.includes(s.from)) + 1;
      const b = a > 0 ? lines.findIndex((l, i) => i + 1 > a && l.includes(s.to)) + 1 : 0;
      if (a === 0 || b === 0) throw new Error(`${file}: the skipped stretch "${s.from}" … "${s.to}" is not in the file any more; update test/mutation/modules.mjs`);
      if (a > start) out.push(`${file}:${start}-${a - 1}`);
      start = b;
    }
    out.push(`${file}:${start}-${lines.length}`);
    return out;
  });
}

const stryker = join(root, 'node_modules/.bin/stryker');
let failed = false;
if (!reportOnly) {
  for (const name of names) {
    const m = MODULES[name];
    const mutate = mutateSpecs(m);
    process.stdout.write(`\n=== mutation testing: ${name} (${mutate.join(', ')})\n`);
    const r = spawnSync(
      stryker,
      [
        'run',
        'stryker.config.mjs',
        '--mutate',
        mutate.join(','),
        '--testFiles',
        m.testFiles.join(','),
        '--incrementalFile',
        `test/mutation/incremental/${name}.json`,
        ...(m.timeoutMS ? ['--timeoutMS', String(m.timeoutMS)] : []),
        ...(force ? ['--force'] : []),
      ],
      {
        cwd: root,
        stdio: 'inherit',
        env: {
          ...process.env,
          STRYKER_JSON_REPORT: `reports/mutation/${name}.json`,
          STRYKER_STATIC: m.static ? 'true' : 'false',
          ...(m.env ?? {}),
        },
      },
    );
    if (r.status !== 0) failed = true;
  }
}

// The summary: score per module (killed + timeout of all covered and uncovered mutants, as Stryker
// counts it; equivalent mutants are listed in docs/mutation-equivalents.md) and the survivors.
const rows = [];
for (const name of names) {
  const file = join(root, `reports/mutation/${name}.json`);
  if (!existsSync(file)) continue;
  const report = JSON.parse(readFileSync(file, 'utf8'));
  const count = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, Ignored: 0, CompileError: 0, RuntimeError: 0 };
  const survivors = [];
  for (const [path, f] of Object.entries(report.files)) {
    for (const mu of f.mutants) {
      count[mu.status] = (count[mu.status] ?? 0) + 1;
      if (mu.status === 'Survived' || mu.status === 'NoCoverage') {
        const line = f.source.split('\n')[mu.location.start.line - 1] ?? '';
        survivors.push(
          `  ${path}:${mu.location.start.line}:${mu.location.start.column} ${mu.mutatorName} [${mu.status}] ${mu.replacement !== undefined ? `→ ${JSON.stringify(mu.replacement).slice(0, 80)}` : ''}\n      ${line.trim().slice(0, 140)}`,
        );
      }
    }
  }
  const detected = count.Killed + count.Timeout;
  const valid = detected + count.Survived + count.NoCoverage;
  rows.push({ name, score: valid ? (100 * detected) / valid : 100, ...count, survivors });
}
process.stdout.write('\n=== mutation score per module\n');
process.stdout.write('module               score   killed timeout survived no-cov\n');
for (const r of rows) {
  process.stdout.write(
    `${r.name.padEnd(20)} ${r.score.toFixed(1).padStart(5)} % ${String(r.Killed).padStart(7)} ${String(r.Timeout).padStart(7)} ${String(r.Survived).padStart(8)} ${String(r.NoCoverage).padStart(6)}\n`,
  );
}
for (const r of rows) {
  if (r.survivors.length === 0) continue;
  process.stdout.write(`\n--- ${r.name}: ${r.survivors.length} surviving mutant(s)\n${r.survivors.join('\n')}\n`);
}
process.exit(failed ? 1 : 0);
