/**
 * The single writer of the embedded log, on its own thread so that SQLite writes and fsyncs never
 * block the HTTP event loop. Appends that arrive while a commit is running are gathered into the
 * next transaction (group commit): one fsync acknowledges every waiting request.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { AppendResult } from '../event-log.js';
import type { SweepResult, WriterEvent, WriterOptions, WriterRequest, WriterResponse, WriterTotals } from './protocol.js';
import { DEFAULT_MAX_BACKLOG_BYTES } from './compaction-gate.js';
import { CompactionScheduler, recoverSegments } from './compaction-scheduler.js';
import { openLogDatabase } from './schema.js';
import { SegmentWriter, segmentDir } from './segments.js';

const options = workerData as WriterOptions;
const port = parentPort!;
const db: Database.Database = openLogDatabase(options.path);

const insertBatch = db.prepare(
  `INSERT INTO batches (tenant, received_at, count, min_ts, max_ts, events_end, bytes, data, seg_id, seg_offset)
   VALUES (?, ?, ?, ?, ?, ?, ?, X'', ?, ?)`,
);
const lastPlaced = db.prepare('SELECT seg_id AS segment, seg_offset + bytes AS end FROM batches WHERE seg_id IS NOT NULL ORDER BY position DESC LIMIT 1').get() as
  { segment: number; end: number } | undefined;
recoverSegments(segmentDir(options.path), db);
const segments = new SegmentWriter(segmentDir(options.path), lastPlaced, options.segmentBytes);
const oldestSegment = db.prepare('SELECT MIN(seg_id) AS s FROM batches');
const findIdem = db.prepare('SELECT response, body_hash AS bodyHash FROM idempotency WHERE tenant = ? AND key = ?');
const insertIdem = db.prepare('INSERT INTO idempotency (tenant, key, body_hash, response, position, created_at) VALUES (?, ?, ?, ?, ?, ?)');
const upsertConsumer = db.prepare(
  `INSERT INTO consumers (name, position, updated_at) VALUES (?, ?, ?)
   ON CONFLICT (name) DO UPDATE SET position = MAX(position, excluded.position), updated_at = excluded.updated_at`,
);
const deleteConsumer = db.prepare('DELETE FROM consumers WHERE name = ?');
const minConsumer = db.prepare('SELECT MIN(position) AS p FROM consumers');
const oldestBatches = db.prepare(
  `SELECT position, bytes, COALESCE(stored, bytes) AS disk, stored IS NULL AS raw, received_at AS receivedAt
   FROM batches WHERE position <= ? ORDER BY position LIMIT 500`,
);
const deleteUpTo = db.prepare('DELETE FROM batches WHERE position <= ?');
const deleteIdem = db.prepare('DELETE FROM idempotency WHERE created_at < ?');
const hasOlder = db.prepare('SELECT 1 FROM batches WHERE position > ? AND (received_at < ?) LIMIT 1');

const totals: WriterTotals = (() => {
  const r = db
    .prepare(
      `SELECT COUNT(*) AS batches, COALESCE(SUM(bytes), 0) AS bytes,
              COALESCE(MAX(position), 0) AS lastPosition, COALESCE(MAX(events_end), 0) AS eventsEnd,
              COALESCE(SUM(COALESCE(stored, bytes)), 0) AS diskBytes,
              COALESCE(SUM(CASE WHEN stored IS NULL THEN bytes ELSE 0 END), 0) AS uncompactedBytes FROM batches`,
    )
    .get() as WriterTotals;
  // AUTOINCREMENT remembers the highest position ever used, even after retention emptied the table.
  const seq = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'batches'").get() as { seq: number } | undefined;
  if (seq && seq.seq > r.lastPosition) r.lastPosition = seq.seq;
  return r;
})();

const compaction =
  options.compress === false
    ? undefined
    : new CompactionScheduler({
        dir: segmentDir(options.path),
        db,
        segments,
        totals,
        sealIdleMs: options.sealIdleMs ?? 10_000,
        sealMinBytes: options.sealMinBytes ?? 16 * 1024 * 1024,
        maxBacklogBytes: options.compactionMaxBacklogBytes ?? DEFAULT_MAX_BACKLOG_BYTES,
        report: (e) => port.postMessage({ ...e, totals: snapshot() } satisfies WriterEvent),
      });

let queue: WriterRequest[] = [];
let scheduled = false;

function snapshot(): WriterTotals {
  return { ...totals };
}

function reply(msg: WriterResponse): void {
  port.postMessage(msg);
}

function flush(): void {
  scheduled = false;
  const work = queue;
  queue = [];
  const appends = work.filter((w): w is Extract<WriterRequest, { op: 'append' }> => w.op === 'append');
  const commits = work.filter((w): w is Extract<WriterRequest, { op: 'commit' }> => w.op === 'commit');
  const others = work.filter((w) => w.op !== 'append' && w.op !== 'commit');
  if (appends.length > 0) commitAppends(appends);
  if (commits.length > 0) commitConsumers(commits);
  for (const w of others) handleOther(w);
}

/** Consumer positions (retention hints) that arrived together: one transaction, one fsync. */
function commitConsumers(commits: Extract<WriterRequest, { op: 'commit' }>[]): void {
  try {
    db.transaction(() => {
      for (const c of commits) upsertConsumer.run(c.consumer, c.position, c.now);
    })();
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    for (const c of commits) reply({ id: c.id, ok: false, error, totals: snapshot() });
    return;
  }
  for (const c of commits) reply({ id: c.id, ok: true, result: null, totals: snapshot() });
}

function commitAppends(appends: Extract<WriterRequest, { op: 'append' }>[]): void {
  const results: (AppendResult | undefined)[] = [];
  const before = snapshot();
  let events = 0;
  let bytes = 0;
  try {
    // 1. Answers remembered for an Idempotency-Key (this thread is the log's only writer, so
    //    nothing can insert one between this check and the commit below).
    const claimed = new Set<string>();
    for (const a of appends) {
      const key = a.idempotency ? `${a.tenant}\u0000${a.idempotency.key}` : undefined;
      const prior = a.idempotency ? (findIdem.get(a.tenant, a.idempotency.key) as { response: string; bodyHash: string } | undefined) : undefined;
      if (prior) results.push({ kind: 'duplicate', response: prior.response, bodyHash: prior.bodyHash });
      else if (key && claimed.has(key)) {
        // The same key twice in one group: the first one's answer is the answer.
        const first = appends.find((x) => x.idempotency && `${x.tenant}\u0000${x.idempotency.key}` === key)!;
        results.push({ kind: 'duplicate', response: first.idempotency!.response, bodyHash: first.idempotency!.bodyHash });
      } else {
        if (key) claimed.add(key);
        results.push(undefined);
      }
    }
    // 2. The data, durable before any index row points at it.
    const fresh = appends.filter((_, i) => results[i] === undefined);
    const activeBefore = segments.active;
    const placements = segments.append(fresh.map((a) => a.data));
    compaction?.appended(activeBefore);
    // 3. The index (and remembered answers) in one transaction: the commit is the acknowledgement.
    db.transaction(() => {
      let k = 0;
      for (let i = 0; i < appends.length; i++) {
        if (results[i] !== undefined) continue;
        const a = appends[i]!;
        const place = placements[k++]!;
        const eventsEnd = totals.eventsEnd + a.count;
        const info = insertBatch.run(a.tenant, a.receivedAt, a.count, a.minTs, a.maxTs, eventsEnd, a.data.byteLength, place.segment, place.offset);
        const position = Number(info.lastInsertRowid);
        totals.eventsEnd = eventsEnd;
        totals.lastPosition = position;
        totals.batches += 1;
        totals.bytes += a.data.byteLength;
        totals.diskBytes += a.data.byteLength;
        totals.uncompactedBytes += a.data.byteLength;
        events += a.count;
        bytes += a.data.byteLength;
        if (a.idempotency) {
          insertIdem.run(a.tenant, a.idempotency.key, a.idempotency.bodyHash, a.idempotency.response, position, a.receivedAt);
        }
        results[i] = { kind: 'appended', partition: 0, position };
      }
    })();
  } catch (e) {
    // Nothing of this group is indexed, so nothing is acknowledged; bytes already in the segment
    // belong to no batch (and are cut off if they are at its end when the log reopens).
    Object.assign(totals, before);
    const message = e instanceof Error ? e.message : String(e);
    for (const a of appends) reply({ id: a.id, ok: false, error: message, totals: snapshot() });
    return;
  }
  const t = snapshot();
  for (let i = 0; i < appends.length; i++) {
    reply({ id: appends[i]!.id, ok: true, result: results[i]!, totals: t, groupSize: appends.length });
  }
  port.postMessage({ op: 'commitGroup', requests: appends.length, events, bytes } satisfies WriterEvent);
}

function handleOther(w: WriterRequest): void {
  try {
    switch (w.op) {
      case 'commit':
        commitConsumers([w]);
        return;
      case 'removeConsumer':
        deleteConsumer.run(w.consumer);
        reply({ id: w.id, ok: true, result: null, totals: snapshot() });
        return;
      case 'sweep':
        reply({ id: w.id, ok: true, result: sweep(w.now, w.maxAgeMs, w.maxBytes, w.idempotencyTtlMs), totals: snapshot() });
        return;
      case 'close':
        void (compaction?.close() ?? Promise.resolve()).finally(() => {
          segments.close();
          db.close();
          reply({ id: w.id, ok: true, result: null, totals: snapshot() });
          port.close();
        });
        return;
      case 'append':
        return;
    }
  } catch (e) {
    reply({ id: w.id, ok: false, error: e instanceof Error ? e.message : String(e), totals: snapshot() });
  }
}

/**
 * Deletes batches older than maxAgeMs, then the oldest ones while the log is over maxBytes, but
 * never one a registered consumer has not committed past. Works in small transactions so appends
 * keep flowing.
 */
function sweep(now: number, maxAgeMs: number, maxBytes: number, idempotencyTtlMs: number): SweepResult {
  const result: SweepResult = { deletedBatches: 0, deletedBytes: 0, deletedIdempotency: 0, heldByConsumer: false };
  const consumerFloor = (minConsumer.get() as { p: number | null }).p;
  const limit = consumerFloor ?? Number.MAX_SAFE_INTEGER;
  const cutoff = maxAgeMs > 0 ? now - maxAgeMs : -Infinity;
  for (;;) {
    const rows = oldestBatches.all(limit) as { position: number; bytes: number; disk: number; raw: number; receivedAt: number }[];
    let upTo = -1;
    let freed = 0;
    let freedDisk = 0;
    let freedRaw = 0;
    let over = totals.bytes;
    let n = 0;
    for (const r of rows) {
      const tooOld = r.receivedAt < cutoff;
      const tooBig = maxBytes > 0 && over > maxBytes;
      if (!tooOld && !tooBig) break;
      upTo = r.position;
      freed += r.bytes;
      freedDisk += r.disk;
      if (r.raw) freedRaw += r.bytes;
      over -= r.bytes;
      n++;
    }
    if (upTo < 0) break;
    db.transaction(() => deleteUpTo.run(upTo))();
    totals.batches -= n;
    totals.bytes -= freed;
    totals.diskBytes -= freedDisk;
    totals.uncompactedBytes -= freedRaw;
    result.deletedBatches += n;
    result.deletedBytes += freed;
    if (rows.length < 500 || n < rows.length) break;
  }
  if (consumerFloor !== null) {
    const wantsMore = (maxBytes > 0 && totals.bytes > maxBytes && totals.batches > 0) || hasOlder.get(consumerFloor, cutoff) !== undefined;
    result.heldByConsumer = wantsMore;
  }
  result.deletedIdempotency = deleteIdem.run(now - idempotencyTtlMs).changes;
  if (result.deletedBatches > 0) {
    // Segment files no retained batch points into are deleted whole.
    const oldest = (oldestSegment.get() as { s: number | null }).s;
    segments.removeBelow(oldest ?? Number.MAX_SAFE_INTEGER);
  }
  return result;
}

port.on('message', (msg: WriterRequest) => {
  queue.push(msg);
  if (!scheduled) {
    scheduled = true;
    if (options.groupCommitDelayMs > 0) setTimeout(flush, options.groupCommitDelayMs);
    else setImmediate(flush);
  }
});

port.postMessage({ op: 'ready', totals: snapshot() } satisfies WriterEvent);
