/** What every API-calling command needs: the server URL, the key, and the output mode. */
import type { Command } from 'commander';
import { KeelClient } from './client.js';

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
  return new KeelClient({ url: g.url, apiKey: g.apiKey });
}
