/**
 * What `keel version` reports: the version (package.json, semantic versioning), and the commit
 * and build date a release build records in `build-info.json` next to package.json
 * (`scripts/build-info.mjs`, run by the Containerfile and the release workflow). A build from a
 * plain checkout has no such file and says `unknown`.
 */
import { readFileSync } from 'node:fs';
import { VERSION } from './version.js';

export interface BuildInfo {
  version: string;
  commit: string;
  buildDate: string;
  node: string;
}

export function buildInfo(file: URL = new URL('../../build-info.json', import.meta.url)): BuildInfo {
  let recorded: { commit?: unknown; buildDate?: unknown } = {};
  try {
    recorded = JSON.parse(readFileSync(file, 'utf8')) as typeof recorded;
  } catch {
    // Not a release build.
  }
  return {
    version: VERSION,
    commit: typeof recorded.commit === 'string' && recorded.commit ? recorded.commit : 'unknown',
    buildDate: typeof recorded.buildDate === 'string' && recorded.buildDate ? recorded.buildDate : 'unknown',
    node: process.version,
  };
}
