/**
 * What the side-effect steps do: `http` (secrets from the sealed store by name, never in the
 * record), `command` (allow-listed executables, argv, no shell, bounded output, timeout) and the
 * rendering of templates for them. `keel` steps are in keel-actions.ts (they commit with their
 * record). Results are plain data for the run machine; secrets are redacted before they leave here.
 */
import { spawn } from 'node:child_process';
import { request } from 'undici';
import type { RunbookStep } from './spec.js';
import { render } from './templates.js';

export interface StepResult {
  ok: boolean;
  output?: unknown;
  error?: string;
  /** The step may have had its effect although it did not finish (timeout after sending). */
  unknownOutcome?: boolean;
}

export interface EffectDeps {
  /** A secret's value; throws when the tenant has no such secret. */
  secret(name: string): Promise<string>;
  commands: readonly string[];
  maxOutputBytes: number;
  /**
   * A running command's output so far, redacted and bounded as its final output: `report` is
   * called at most every `everyMs`, and only when the output changed since the last report.
   */
  progress?: { everyMs: number; report(output: PartialOutput): Promise<void> };
  /** A command started, in its own process group (pid = group id): recorded for a restart after a crash. */
  spawned?(pid: number): void;
}

/** What a command step has printed so far (while it runs). */
export interface PartialOutput {
  stdout: string;
  stderr: string;
}

/**
 * Replaces every secret value in a text with a mark. `partial`: the text is output still being
 * written, so a secret's first characters at its very end are held back too (the rest may follow
 * in the next chunk; whole, it is redacted then).
 */
export function redactor(values: Iterable<string>): (text: string, partial?: boolean) => string {
  const list = [...values].filter((v) => v.length >= 4).sort((a, b) => b.length - a.length);
  return (text, partial = false) => {
    const clean = list.reduce((t, v) => t.split(v).join('[redacted]'), text);
    return partial ? clean.slice(0, clean.length - secretStartAtEnd(clean, list)) : clean;
  };
}

/** How many characters at the end of `text` could be the beginning of one of the secrets. */
function secretStartAtEnd(text: string, secrets: readonly string[]): number {
  let longest = 0;
  for (const v of secrets) {
    for (let k = Math.min(v.length - 1, text.length); k > longest; k--) {
      if (text.endsWith(v.slice(0, k))) {
        longest = k;
        break;
      }
    }
  }
  return longest;
}

/** Renders with secrets opened; `used` collects their values for redaction. */
async function renderWithSecrets(text: string, values: Record<string, unknown>, deps: EffectDeps, used: Set<string>): Promise<string> {
  const names = [...text.matchAll(/\{\{\s*secrets\.([A-Za-z0-9_-]+)\s*\}\}/g)].map((m) => m[1]!);
  const opened = new Map<string, string>();
  for (const n of names) {
    const v = await deps.secret(n);
    opened.set(n, v);
    used.add(v);
  }
  return render(text, values, (n) => opened.get(n) ?? '');
}

function bounded(text: string, max: number): string {
  return Buffer.byteLength(text) <= max ? text : `${Buffer.from(text).subarray(0, max).toString()}… [truncated]`;
}

export async function runHttp(step: RunbookStep, values: Record<string, unknown>, deps: EffectDeps, timeoutMs: number, signal: AbortSignal): Promise<StepResult> {
  const spec = step.http!;
  const used = new Set<string>();
  const url = await renderWithSecrets(spec.url, values, deps, used);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.headers)) headers[k] = await renderWithSecrets(v, values, deps, used);
  const body = spec.body === undefined ? undefined : await renderWithSecrets(spec.body, values, deps, used);
  const clean = redactor(used);
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) return { ok: false, error: `not an http(s) URL: ${clean(url)}` };
  const timeout = AbortSignal.timeout(timeoutMs);
  const both = AbortSignal.any([timeout, signal]);
  let sent = false;
  try {
    const res = await request(url, {
      method: spec.method,
      headers,
      ...(body !== undefined ? { body } : {}),
      signal: both,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      // A fresh connection per step: a kept-alive socket the server closed meanwhile fails as
      // "other side closed", and whether such a request reached the server is unknowable.
      reset: true,
    });
    sent = true;
    const raw = await res.body.text();
    const text = clean(bounded(raw, deps.maxOutputBytes));
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const output = { status: res.statusCode, body: text, ...(json !== undefined ? { json } : {}) };
    const ok = spec.expectStatus ? spec.expectStatus.includes(res.statusCode) : res.statusCode >= 200 && res.statusCode < 300;
    return ok ? { ok, output } : { ok, output, error: `HTTP ${res.statusCode}${spec.expectStatus ? ` (expected ${spec.expectStatus.join(', ')})` : ''}` };
  } catch (e) {
    if (signal.aborted) throw e;
    const err = e as { code?: string; message?: string };
    // Refused or unresolvable: nothing reached the server, so the failure is definite.
    const notSent = !sent && ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET_BEFORE'].includes(err.code ?? '');
    const message = timeout.aborted ? `timed out after ${timeoutMs} ms` : clean(err.message ?? String(e));
    return { ok: false, error: message, ...(notSent ? {} : { unknownOutcome: true }) };
  }
}

export async function runCommand(step: RunbookStep, values: Record<string, unknown>, deps: EffectDeps, timeoutMs: number, signal: AbortSignal): Promise<StepResult> {
  const spec = step.command!;
  const used = new Set<string>();
  const argv = spec.argv.map((a) => render(a, values, () => ''));
  const exe = argv[0]!;
  if (!deps.commands.includes(exe)) {
    return { ok: false, error: `"${exe}" is not on this deployment's allow-list of commands (runbooks.commands: ${deps.commands.join(', ') || 'empty'})` };
  }
  const env: Record<string, string> = { PATH: '/usr/local/bin:/usr/bin:/bin' };
  for (const [k, v] of Object.entries(spec.env)) env[k] = await renderWithSecrets(v, values, deps, used);
  const clean = redactor(used);
  return new Promise<StepResult>((resolve, reject) => {
    // Its own process group, killed whole: a shell's children would otherwise outlive the timeout,
    // keep the output pipes open, and hold the step (and the run) until they ended by themselves.
    const child = spawn(exe, argv.slice(1), { shell: false, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    if (child.pid !== undefined) deps.spawned?.(child.pid);
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    const keep = (list: Buffer[], n: number, d: Buffer) => {
      if (n < deps.maxOutputBytes) list.push(d.subarray(0, deps.maxOutputBytes - n));
      return n + d.length;
    };
    child.stdout.on('data', (d: Buffer) => (outBytes = keep(out, outBytes, d)));
    child.stderr.on('data', (d: Buffer) => (errBytes = keep(err, errBytes, d)));
    // The same text for the live output as for the final one: bounded, then secrets redacted.
    const text = (list: Buffer[], n: number, partial = false) => clean(Buffer.concat(list).toString(), partial) + (n > deps.maxOutputBytes ? '… [truncated]' : '');
    const progress = live(deps.progress, () => ({ stdout: text(out, outBytes, true), stderr: text(err, errBytes, true) }));
    child.stdout.on('data', progress.changed);
    child.stderr.on('data', progress.changed);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    const onAbort = () => killGroup();
    signal.addEventListener('abort', onAbort, { once: true });
    const settled = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      return progress.stop();
    };
    child.on('error', (e) => {
      void settled().then(() => resolve({ ok: false, error: `could not start ${exe}: ${e.message}` }));
    });
    child.on('close', (code) => {
      void settled().then(() => {
        if (signal.aborted) return reject(new Error('stopped'));
        const output = { exit_code: code ?? -1, stdout: text(out, outBytes), stderr: text(err, errBytes) };
        if (timedOut) return resolve({ ok: false, output, error: `timed out after ${timeoutMs} ms`, unknownOutcome: true });
        resolve(code === 0 ? { ok: true, output } : { ok: false, output, error: `exit code ${code ?? 'none (killed)'}` });
      });
    });
  });
}

/**
 * Throttled reports of a running command's output: at most one every `everyMs`, none while the
 * previous one is being written, none when nothing changed. `stop` ends them and waits for the
 * one in flight, so the step's result is recorded after its last live report.
 */
function live(progress: EffectDeps['progress'], snapshot: () => PartialOutput): { changed: () => void; stop: () => Promise<void> } {
  if (!progress) return { changed: () => undefined, stop: async () => undefined };
  let dirty = false;
  let last = '';
  let inFlight: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (!dirty || inFlight) return;
    dirty = false;
    const now = snapshot();
    const key = JSON.stringify(now);
    if (key === last) return;
    last = key;
    inFlight = progress
      .report(now)
      .catch(() => {
        // Not recorded: the next tick reports again, changed or not.
        dirty = true;
        last = '';
      })
      .finally(() => (inFlight = undefined));
  }, progress.everyMs);
  return {
    changed: () => void (dirty = true),
    stop: async () => {
      clearInterval(timer);
      await inFlight;
    },
  };
}
