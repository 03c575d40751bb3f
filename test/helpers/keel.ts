/** Starts an embedded Keel in this process on a fresh data dir, for integration tests over HTTP. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { loadConfig, type KeelConfigInput } from '../../src/core/config.js';
import type { Clock } from '../../src/core/clock.js';
import { startEmbedded, type KeelInstance } from '../../src/runtime/embedded.js';
import { createLogger } from '../../src/telemetry/logger.js';

export const ADMIN_KEY = 'keel_test_admin_key_0123456789abcdef';

export interface TestKeel {
  keel: KeelInstance;
  url: string;
  dataDir: string;
  adminKey: string;
  close(): Promise<void>;
}

export async function startTestKeel(settings: Partial<Record<keyof KeelConfigInput, unknown>> = {}, options: { clock?: Clock; dataDir?: string; keepDataDir?: boolean } = {}): Promise<TestKeel> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'keel-test-'));
  const config = loadConfig({
    env: {},
    // Keel's own SLOs are off here unless a test sets selfMonitoring: tests of other domains assert
    // exact tenant-wide figures (usage totals, compliance rows, log lag) that Keel's once-a-second
    // events in keel-system would change. Spawned processes (spawnKeel) run with the product default.
    overrides: {
      dataDir,
      'server.port': 0,
      'server.checkResponses': true,
      logLevel: 'silent',
      ...(settings.selfMonitoring === undefined ? { 'selfMonitoring.enabled': false } : {}),
      ...flatten(settings),
    },
  });
  const keel = await startEmbedded({
    config,
    logger: createLogger('silent'),
    bootstrapKey: ADMIN_KEY,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return {
    keel,
    url: keel.url,
    dataDir,
    adminKey: ADMIN_KEY,
    close: async () => {
      await keel.close();
      if (!options.keepDataDir && !options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function flatten(o: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, flatten(v as Record<string, unknown>, path));
    else out[path] = v;
  }
  return out;
}

export interface HttpResult<T = any> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
  text: string;
}

export async function http<T = any>(
  url: string,
  options: { method?: string; key?: string | undefined; headers?: Record<string, string>; body?: string | Buffer; json?: unknown } = {},
): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let body = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  }
  const res = await request(url, { method: (options.method ?? (body !== undefined ? 'POST' : 'GET')) as 'GET', headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  return { status: res.statusCode, headers: res.headers, body: parsed as T, text };
}

export function ndjson(events: unknown[]): string {
  return events.map((e) => JSON.stringify(e)).join('\n') + '\n';
}
