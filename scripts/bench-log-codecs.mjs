#!/usr/bin/env node
/**
 * Bytes per event and CPU per event of the ways a compacted log segment could store the bench's
 * events (`keel bench ingest`'s, 64 batches of 1,000), beside bare JSON.parse of the same NDJSON
 * in the same run (to scale the figures to a machine's speed). npm run build first.
 *
 *   node scripts/bench-log-codecs.mjs [--json]
 */
import { brotliCompressSync, constants, deflateRawSync } from 'node:zlib';
import { benchBodies, jsonParseCeiling } from '../dist/bench/events.js';
import { decodeBatch, encodeBatch } from '../dist/log/sqlite/batch-codec.js';

const bodies = benchBodies(64, 1000);
const events = 64 * 1000;
const ceiling = jsonParseCeiling(bodies, 2);
// Warm the encoder and decoder up (JIT) before timing them.
for (let i = 0; i < 3; i++) for (const b of bodies.slice(0, 16)) decodeBatch(encodeBatch(b));

function measure(name, encode) {
  const t0 = performance.now();
  let bytes = 0;
  for (const b of bodies) bytes += encode(b).byteLength;
  const us = ((performance.now() - t0) * 1000) / events;
  return { codec: name, bytes_per_event: Math.round((bytes / events) * 10) / 10, encode_us_per_event: Math.round(us * 100) / 100 };
}

const brotli = (q) => (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: q, [constants.BROTLI_PARAM_SIZE_HINT]: b.byteLength } });
const rows = [
  measure('ndjson (as received)', (b) => b),
  measure('deflate 1', (b) => deflateRawSync(b, { level: 1 })),
  measure('deflate 6', (b) => deflateRawSync(b, { level: 6 })),
  measure('brotli 1', brotli(1)),
  measure('brotli 5', brotli(5)),
  measure('brotli 9', brotli(9)),
  measure('columns + brotli 5 (Keel)', encodeBatch),
];
const frames = bodies.map((b) => encodeBatch(b));
const t0 = performance.now();
for (const f of frames) decodeBatch(f);
const decodeUs = ((performance.now() - t0) * 1000) / events;
// Frames are per batch: small batches share less with each other than a batch's own events do.
const byBatchSize = [1, 10, 100, 1000].map((size) => {
  const count = Math.max(8, 20_000 / size);
  const bytes = benchBodies(count, size).reduce((sum, b) => sum + encodeBatch(b).byteLength, 0);
  return { events_per_batch: size, bytes_per_event: Math.round((bytes / (count * size)) * 10) / 10 };
});
const result = {
  json_parse_us_per_event: Math.round((1e6 / ceiling) * 100) / 100,
  codecs: rows,
  keel_decode_us_per_event: Math.round(decodeUs * 100) / 100,
  keel_by_batch_size: byBatchSize,
};
if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(result)}\n`);
else {
  process.stdout.write(`bare JSON.parse of the same NDJSON: ${result.json_parse_us_per_event} µs per event (one core)\n`);
  for (const r of rows) process.stdout.write(`${r.codec.padEnd(28)} ${String(r.bytes_per_event).padStart(6)} B/event  ${String(r.encode_us_per_event).padStart(6)} µs/event to encode\n`);
  process.stdout.write(`Keel's frames decode at ${result.keel_decode_us_per_event} µs per event\n`);
  process.stdout.write(`Keel's frames by batch size: ${byBatchSize.map((b) => `${b.events_per_batch} events/batch ${b.bytes_per_event} B/event`).join(', ')}\n`);
}
