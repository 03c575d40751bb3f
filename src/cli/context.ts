/** What every API-calling command needs: the server URL, the key, and the output mode. */
import type { Command } from 'commander';
import { UsageError } from './args.js';
import { KeelClient } from './client.js';
import { printJson } from './output.js';

export interface GlobalOptions {
  url: string;
  apiKey?: string;
  json?: boolean;
}

export function globals(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals() as Partial<GlobalOptions>;
  const apiKey = o.apiKey ?? process.env.KEEL_API_KEY;
  return {
    url: o.url ?? process.env.KEEL_URL ?? 'http://127.0.0.1:7070',
    ...(apiKey ? { apiKey } : {}),
    ...(o.json ? { json: true } : {}),
  };
}

export function clientOf(cmd: Command): KeelClient {
  const g = globals(cmd);
  return new KeelClient({ url: serverUrl(g.url), apiKey: g.apiKey });
}

/** `--url localhost:7070` is a typo, not an unreachable server: say what is expected (exit 2). */
export function serverUrl(url: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || !parsed.host) {
    throw new UsageError(`--url / KEEL_URL: "${url}" is not an http(s) URL; expected e.g. http://127.0.0.1:7070`);
  }
  return url;
}

/** Prints a command's result: with --json the answer and nothing else on stdout, otherwise the human form. */
export function answer(cmd: Command, value: unknown, human: () => void): void {
  if (globals(cmd).json) printJson(value);
  else human();
}
