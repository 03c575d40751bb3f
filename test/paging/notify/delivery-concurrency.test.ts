/**
 * A storm's pages go out 64 at a time by default (`paging.delivery.concurrency`): a delivery holds
 * its slot until its answer is read, so with webhooks that answer slowly the slots, not Keel, set
 * how fast a storm pages. A receiver that holds every request open shows how many are in flight.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DELIVERY_CONCURRENCY } from '../../../src/core/config.js';
import { http, type TestKeel } from '../../helpers/keel.js';
import { FAST_PAGING, applyOk, eventsV2, integrationKey, personWithPolicy, setSecret, startPagingKeel, waitFor } from '../../helpers/paging.js';

const ALERTS = 80;
let t: TestKeel;
let server: ReturnType<typeof createServer>;
let url: string;
const held: ServerResponse[] = [];
const pagedIncidents: number[] = [];
let open = 0;
let maxOpen = 0;
let holding = true;

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { incident: { number: number } };
      pagedIncidents.push(body.incident.number);
      open++;
      maxOpen = Math.max(maxOpen, open);
      res.on('finish', () => open--);
      if (holding) held.push(res);
      else res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The receiver holds every page on purpose: the delivery timeout must outlast the whole hold,
  // or on a loaded machine the first pages time out and are sent again before 64 are in flight
  // (this test failed once here with a full test suite running beside it).
  t = await startPagingKeel({ paging: { ...FAST_PAGING.paging, delivery: { ...FAST_PAGING.paging.delivery, timeout: 120_000 } } });
  await setSecret(t, 'ann-hook', 'ann-signing-secret');
  await applyOk(
    t,
    `${personWithPolicy('ann', url)}---
apiVersion: keel/v1
kind: Service
metadata: {name: storm}
spec: {escalationPolicy: ann, alertGrouping: {by: [class]}}
`,
  );
}, 60_000);

afterAll(async () => {
  holding = false;
  for (const res of held.splice(0)) res.end('ok');
  await t?.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

it('pages a storm 64 deliveries at a time by default, never more, and then every one of them', async () => {
  expect(DELIVERY_CONCURRENCY).toBe(64);
  const key = await integrationKey(t, 'events-v2', 'storm');
  for (let i = 0; i < ALERTS; i++) {
    const r = await http(`${t.url}/v1/integrations/events-v2`, {
      json: eventsV2(key, { dedup_key: `storm-${i}`, payload: { summary: `Storm ${i}`, source: 'db-1', severity: 'critical', class: `c${i}` } }),
    });
    expect(r.status).toBe(202);
  }
  // 64 pages wait on the receiver at once; the other 16 wait for a slot.
  await waitFor('64 deliveries in flight', () => open === 64);
  // A few more rounds of the delivery loop (it polls every 25 ms here) start nothing more.
  await new Promise((r) => setTimeout(r, 300));
  expect(open).toBe(64);
  expect(maxOpen).toBe(64);
  holding = false;
  for (const res of held.splice(0)) res.end('ok');
  await waitFor('every alert paged', () => pagedIncidents.length >= ALERTS);
  // Each of the 80 incidents paged once: none lost while waiting for a slot, none sent twice.
  expect([...pagedIncidents].sort((a, b) => a - b)).toEqual(Array.from({ length: ALERTS }, (_, i) => i + 1));
  expect(maxOpen).toBe(64);
}, 60_000);
