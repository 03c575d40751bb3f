/** Lets a person edit text in their own editor ($VISUAL, else $EDITOR, else vi), as git does. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from './args.js';

export function editInEditor(text: string, fileName: string): string {
  const editor = process.env.VISUAL || process.env.EDITOR || 'vi';
  const dir = mkdtempSync(join(tmpdir(), 'keel-edit-'));
  const file = join(dir, fileName);
  try {
    writeFileSync(file, text, { mode: 0o600 });
    // Through the shell, so an editor with arguments ("code --wait") works as it does for git.
    const r = spawnSync(`${editor} "${file}"`, { shell: true, stdio: 'inherit' });
    if (r.error) throw new UsageError(`could not run the editor "${editor}": ${r.error.message}`);
    if (r.status !== 0) throw new UsageError(`the editor "${editor}" exited with status ${r.status}; nothing stored`);
    return readFileSync(file, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
