/** What every API-calling command needs: the server URL, the key, and the output mode. */
import type { Command } from 'commander';
import { KeelClient } from './client.js';

export interface GlobalOptions {
  url: string;
  apiKey?: string;
  json?: boolean;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

export function clientOf(cmd: Command): KeelClient {
  const g = globals(cmd);
  return new KeelClient({ url: g.url, apiKey: g.apiKey });
}
