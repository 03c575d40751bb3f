/** Printing for the CLI: tables for people, `--json` for scripts. */
export function printJson(v: unknown): void {
  process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
}

export function printTable(rows: Record<string, unknown>[], columns: string[]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : Array.isArray(v) ? v.join(',') : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${line(columns.map((c) => c.toUpperCase()))}\n`);
  for (const r of rows) process.stdout.write(`${line(columns.map((c) => cell(r[c])))}\n`);
}

/** Progress on stderr, redrawn in place on a terminal, one line per update otherwise. */
export function progress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`);
  else process.stderr.write(`${text}\n`);
}

export function progressDone(): void {
  if (process.stderr.isTTY) process.stderr.write('\n');
}

/** Progress only a person watching sees: on a terminal, redrawn in place; nothing in pipes and logs. */
export function ttyProgress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`);
}

export function ttyProgressDone(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
}

/** An object as aligned `field: value` lines (nested values as JSON), for people. */
export function printFields(v: Record<string, unknown>): void {
  const width = Math.max(0, ...Object.keys(v).map((k) => k.length));
  for (const [k, x] of Object.entries(v)) {
    const text = x === null || x === undefined ? '-' : typeof x === 'object' ? JSON.stringify(x) : String(x);
    process.stdout.write(`${`${k}:`.padEnd(width + 2)}${text}\n`);
  }
}
