/** Helpers for paging tests: a local HTTP receiver for webhooks, YAML apply, polling. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { http, startTestKeel, type TestKeel } from './keel.js';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: any;
  at: number;
}

export interface Receiver {
  url: string;
  requests: Received[];
  /** HTTP status to answer per path (default 200). */
  status: Map<string, number>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const requests: Received[] = [];
  const status = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw;
      try {
        body = JSON.parse(raw);
      } catch {
        // not JSON
      }
      const path = req.url ?? '/';
      requests.push({ path, headers: req.headers, raw, body, at: Date.now() });
      res.statusCode = status.get(path) ?? 200;
      res.end(res.statusCode < 300 ? 'ok' : 'failing on purpose');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    status,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Fast loops and retries, so tests do not wait for production intervals. */
export const FAST_PAGING = { paging: { pollInterval: 25, delivery: { maxAttempts: 3, initialBackoff: 20, maxBackoff: 80, timeout: 2000 } } };

export async function startPagingKeel(extra: Record<string, unknown> = {}, options: Parameters<typeof startTestKeel>[1] = {}): Promise<TestKeel> {
  return startTestKeel({ ...FAST_PAGING, ...extra } as never, options);
}

export async function apply(t: TestKeel, yaml: string, file = 'paging.yaml', key = t.adminKey) {
  const r = await http(`${t.url}/v1/definitions/apply`, { key, json: { sources: [{ file, content: yaml }] } });
  return r;
}

export async function applyOk(t: TestKeel, yaml: string): Promise<void> {
  const r = await apply(t, yaml);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}

// A mutation run (scripts/mutation.mjs) shortens the wait: a mutant that stops something from
// happening then fails its test in seconds instead of 15 s (the tests run one at a time there).
const WAIT_MS = Number(process.env.KEEL_TEST_WAIT_MS ?? 15_000);

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function integrationKey(t: TestKeel, type: string, service?: string): Promise<string> {
  const r = await http(`${t.url}/v1/integrations`, { key: t.adminKey, json: { type, ...(service ? { service } : {}) } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.key as string;
}

export async function setSecret(t: TestKeel, name: string, value: string): Promise<void> {
  const r = await http(`${t.url}/v1/paging/secrets`, { key: t.adminKey, json: { name, value } });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}

export function eventsV2(routingKey: string, overrides: Record<string, unknown> = {}) {
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: 'disk-1',
    payload: { summary: 'Disk almost full on db-1', source: 'db-1', severity: 'critical' },
    ...overrides,
  };
}

/** An Alertmanager webhook (v4) body carrying `alerts`. */
export const alertmanagerBody = (alerts: unknown[]) => ({
  version: '4',
  groupKey: '{}:{alertname="x"}',
  truncatedAlerts: 0,
  status: 'firing',
  receiver: 'keel',
  groupLabels: {},
  commonLabels: {},
  commonAnnotations: {},
  externalURL: 'http://alertmanager:9093',
  alerts,
});

/** A User `name` paged by a signed webhook to `url/<name>`, and an EscalationPolicy of the same name paging them. */
export function personWithPolicy(name: string, url: string): string {
  return `${userDoc(name, `${url}/${name}`)}---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: ${name}}
spec: {steps: [{notify: {users: [${name}]}, wait: 1h}]}
`;
}

/** A user document with a webhook contact method pointing at `url`. */
export function userDoc(name: string, url: string, extra = ''): string {
  return `apiVersion: keel/v1
kind: User
metadata: {name: ${name}}
spec:
  email: ${name}@example.com
  name: ${name[0]!.toUpperCase()}${name.slice(1)} Example
  timeZone: Europe/Berlin
  contactMethods:
    - {name: hook, type: webhook, url: "${url}", signingSecret: ${name}-hook}
${extra}`;
}

/**
 * Users paged by signed webhooks to `receiverUrl/<name>` (their signing secrets are named
 * `<name>-hook`; store them first with `webhookSecrets`) and a policy `two-steps` paging the first,
 * then the second after `firstWait`. YAML documents for `keel apply`.
 */
export function twoStepPaging(receiverUrl: string, firstWait: string, names: [string, string] = ['ann', 'ben']): string {
  const users = names
    .map(
      (n) =>
        `apiVersion: keel/v1\nkind: User\nmetadata: {name: ${n}}\nspec:\n  email: ${n}@example.com\n  name: ${n}\n  contactMethods: [{name: hook, type: webhook, url: "${receiverUrl}/${n}", signingSecret: ${n}-hook}]\n`,
    )
    .join('---\n');
  return `${users}---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: two-steps}
spec:
  steps:
    - {notify: {users: [${names[0]}]}, wait: ${firstWait}}
    - {notify: {users: [${names[1]}]}, wait: 1h}
`;
}

/** Stores the webhook signing secrets `twoStepPaging` refers to, through `POST /v1/paging/secrets`. */
export async function webhookSecrets(url: string, key: string, names: string[] = ['ann', 'ben']): Promise<void> {
  for (const n of names) {
    const r = await http(`${url}/v1/paging/secrets`, { key, json: { name: `${n}-hook`, value: `${n}-secret` } });
    expect(r.status, r.text).toBe(200);
  }
}
