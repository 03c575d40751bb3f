#!/usr/bin/env node
// Records the commit and build date of a release build in build-info.json (read by `keel version`).
// Usage: node scripts/build-info.mjs <commit> [build-date]   (date default: now, RFC 3339 UTC)
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [commit, date] = process.argv.slice(2);
if (!commit || !/^[0-9a-f]{7,40}$/.test(commit)) {
  process.stderr.write('usage: node scripts/build-info.mjs <commit sha> [build date]\n');
  process.exit(2);
}
const buildDate = date || new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
if (Number.isNaN(Date.parse(buildDate))) {
  process.stderr.write(`build date "${buildDate}" is not an RFC 3339 time\n`);
  process.exit(2);
}
writeFileSync(fileURLToPath(new URL('../build-info.json', import.meta.url)), `${JSON.stringify({ commit, buildDate })}\n`);
