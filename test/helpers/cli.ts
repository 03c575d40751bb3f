/** Runs the real `keel` command (the built bin/keel.js) and collects what it prints and its exit code. */
import { spawn } from 'node:child_process';
import { KEEL_BIN } from '../../src/bench/spawn-keel.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function keelCli(args: string[], options: { url?: string; key?: string; stdin?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KEEL_BIN, ...args], {
      env: { ...process.env, ...(options.url ? { KEEL_URL: options.url } : {}), ...(options.key ? { KEEL_API_KEY: options.key } : {}), ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}
