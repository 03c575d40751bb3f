/** Waiting for a runbook run as a user would: reading it through the API until it has ended. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnKeel, type KeelProcess } from '../../src/bench/spawn-keel.js';
import { waitFor } from './paging.js';

/** The statuses a run ends in. */
export const ENDED = ['succeeded', 'failed', 'aborted'];

/** The run once `read` shows it ended (succeeded, failed or aborted). */
export function runEnded<R extends { status: string }>(read: (id: string) => Promise<R>, id: string): Promise<R> {
  return waitFor(`run ${id} to end`, async () => {
    const run = await read(id);
    return ENDED.includes(run.status) ? run : undefined;
  });
}

/** A runbook of one `command` step (`work`, 1 h timeout) running `script` in /bin/sh, with DIR set to its `dir` parameter. */
export function shellRunbook(name: string, safeToRepeat: boolean, script: string): string {
  return `apiVersion: keel/v1
kind: Runbook
metadata: {name: ${name}}
spec:
  parameters:
    dir: {type: string, required: true}
  steps:
    - name: work
      timeout: 1h
      safeToRepeat: ${safeToRepeat}
      command:
        argv: [/bin/sh, -c, '${script}']
        env: {DIR: "{{ params.dir }}"}
`;
}

/** Kills these process groups (a command's shell pid is its group's id); ended ones are skipped. */
export function killGroups(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already ended
    }
  }
}

/** A fresh root dir holding a data dir whose keel.yaml lets runbooks run /bin/sh (polled every 50 ms), and a Keel started on it. */
export async function shellRunbookKeel(label: string): Promise<{ root: string; dataDir: string; keel: KeelProcess }> {
  const root = mkdtempSync(join(tmpdir(), `keel-${label}-`));
  const dataDir = join(root, 'data');
  mkdirSync(dataDir);
  writeFileSync(join(dataDir, 'keel.yaml'), 'runbooks:\n  pollInterval: 50ms\n  commands: [/bin/sh]\n');
  return { root, dataDir, keel: await spawnKeel({ dataDir }) };
}
