/**
 * The runner for logs that deliver batches themselves (JetStream): one loop per partition pulls
 * from the processor's durable consumer (deliveries come only while this worker holds the
 * partition), folds the delivery into state and writes the position in one transaction, and only
 * then acknowledges. Inside the transaction the log's fence checks the partition is still this
 * worker's, and the position row is locked: a batch delivered again (after a crash between commit
 * and acknowledgement, or a takeover) is recognised as committed and skipped, and a copy the log
 * stored at a new position is recognised by its id (counted-batches.ts). Nothing is counted twice
 * and nothing is skipped.
 */
import type { CoreContext } from '../module/context.js';
import type { LogBatch, LogDelivery, LogSubscription } from '../log/event-log.js';
import { CountedBatches } from './counted-batches.js';
import { lockPosition, readPosition, writePosition } from './positions.js';
import { ReadAgain, SUBSCRIBED_GATHER_MS, drainPositions } from './gathering.js';
import type { BatchProcessor, ProcessorRunner, RunnerOptions } from './batch-processor.js';
import { observe, type PartitionWatch } from './progress-watchdog.js';

const DEFAULT_STALL_MS = 15_000;

export function runSubscribedProcessor(ctx: CoreContext, processor: BatchProcessor, options: RunnerOptions = {}): ProcessorRunner {
  const { log, store, logger, clock, metrics } = ctx;
  const subscribe = log.subscribe!.bind(log);
  const positions = new Map<number, number>();
  const controller = new AbortController();
  const { signal } = controller;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  const backoff = (failures: number) => Math.min(5_000, 100 * 2 ** failures);
  const counted = new CountedBatches(processor.name);

  /** Commits a delivery's new batches with their position; returns them (empty when all were seen). */
  const commit = async (p: number, d: LogDelivery): Promise<LogBatch[]> => {
    const { fresh, committed } = await store.db.transaction().execute(async (trx) => {
      await d.fence?.(trx);
      const committed = await lockPosition(trx, processor.name, p, clock.now());
      // In position order: a delivery is not always in order (JetStream hands a redelivered batch
      // whose acknowledgement was lost, e.g. across a server restart, after newer ones), and the
      // position written must be the highest one counted, never the last one handed.
      const unseen = d.batches.filter((b) => b.position > committed).sort((a, b) => a.position - b.position);
      // A copy of a batch already counted (the log stored it twice) advances the position only.
      const fresh = unseen.length > 0 ? await counted.claim(trx, unseen, clock.now()) : [];
      if (fresh.length > 0) await processor.process(trx, fresh);
      if (unseen.length > 0) await writePosition(trx, processor.name, p, unseen[unseen.length - 1]!.position, clock.now());
      return { fresh, committed };
    });
    // Only once committed: `drain()` resolving means the results are readable.
    positions.set(p, Math.max(committed, ...d.batches.map((b) => b.position)));
    return fresh;
  };

  // The progress watchdog: what each loop holds and since when it waits on a pull, and a way to
  // make a loop drop its subscription and start again from the committed position.
  const stallMs = options.stallMs ?? DEFAULT_STALL_MS;
  const subs = new Map<number, LogSubscription>();
  const pullingSince = new Map<number, number>();
  const kicks = new Map<number, () => void>();
  const watches = new Map<number, PartitionWatch>();
  const watchdog = setInterval(() => void watch(), Math.max(250, Math.floor(stallMs / 3)));
  watchdog.unref();
  let watching = false;
  let watchFailing = false;
  const watch = async () => {
    if (watching || signal.aborted) return;
    watching = true;
    try {
      // The log's ends are read only when a held partition has not moved since the last round:
      // under load every partition moves and the watchdog costs nothing.
      const idle = [...subs].some(([p, sub]) => sub.owned?.() && (positions.get(p) ?? 0) === (watches.get(p)?.position ?? -1));
      const ends = idle ? (await log.stats()).lastPositions : [];
      const now = Date.now();
      for (let p = 0; p < log.partitions; p++) {
        const w = watches.get(p) ?? { position: positions.get(p) ?? 0, since: now };
        watches.set(p, w);
        const position = positions.get(p) ?? 0;
        const stalled = observe(w, { owned: subs.get(p)?.owned?.() ?? false, position, logEnd: ends[p] ?? position }, now);
        metrics.partitionStalled.set({ consumer: processor.name, partition: String(p) }, stalled / 1000);
        if (stalled < stallMs) continue;
        const pulling = pullingSince.get(p);
        const reason =
          pulling !== undefined && now - pulling >= stallMs
            ? `a pull has not returned for ${Math.round((now - pulling) / 1000)} s`
            : `deliveries brought nothing while the log holds up to position ${ends[p]}`;
        logger.warn(
          { processor: processor.name, partition: p, position, logEnd: ends[p], stalledForMs: stalled, reason },
          'partition makes no progress; starting its subscription again from the committed position',
        );
        w.since = now;
        kicks.get(p)?.();
      }
      if (watchFailing) logger.info({ processor: processor.name }, 'progress watchdog reads the log again');
      watchFailing = false;
    } catch (err) {
      // Said once per failing streak (it runs every few seconds): while it fails, no partition is
      // checked for stalls.
      if (!watchFailing) logger.warn({ err, processor: processor.name }, 'progress watchdog cannot read the log; partitions are not checked for stalls until it can');
      watchFailing = true;
    } finally {
      watching = false;
    }
  };

  const loop = async (p: number) => {
    let failures = 0;
    let sub: LogSubscription | undefined;
    while (!signal.aborted) {
      if (!sub) {
        try {
          sub = await subscribe(processor.name, p, () => readPosition(store.db, processor.name, p), {
            headersOnly: () => processor.readsData === false || processor.needsData?.() === false,
          });
          positions.set(p, Math.max(positions.get(p) ?? 0, await readPosition(store.db, processor.name, p)));
          failures = 0;
        } catch (err) {
          logger.warn({ err, processor: processor.name, partition: p }, 'cannot subscribe to the event log; retrying');
          await sleep(backoff(failures++));
          continue;
        }
      }
      subs.set(p, sub);
      let delivery: LogDelivery | undefined;
      try {
        const kicked = new Promise<'kicked'>((resolve) => kicks.set(p, () => resolve('kicked')));
        pullingSince.set(p, Date.now());
        const next = sub.next(options.idleMs ?? 2_000);
        const got = await Promise.race([next, kicked]).finally(() => pullingSince.delete(p));
        if (got === 'kicked') {
          // A stuck pull may still resolve later: whatever it brings is never acknowledged, and
          // the new subscription delivers it again from the committed position.
          next.catch(() => undefined);
          await sub.close().catch(() => undefined);
          sub = undefined;
          subs.delete(p);
          continue;
        }
        delivery = got;
      } catch (err) {
        if (signal.aborted) break;
        logger.warn({ err, processor: processor.name, partition: p }, 'reading the event log failed; subscribing again');
        await sub?.close().catch(() => undefined);
        sub = undefined;
        subs.delete(p);
        await sleep(backoff(failures++));
        continue;
      }
      if (!delivery) continue;
      // Keep the delivery ours while a slow transaction runs, instead of letting it go elsewhere.
      const keepAlive = setInterval(() => delivery.working(), 2_000);
      let fresh: LogBatch[];
      try {
        fresh = await commit(p, delivery);
        failures = 0;
      } catch (err) {
        clearInterval(keepAlive);
        if (err instanceof ReadAgain) {
          // Delivered as headers only, but the processor needs the events now: start again from
          // the committed position on a consumer that delivers them.
          delivery.retry(0);
          continue;
        }
        const pause = backoff(failures++);
        logger.error({ err, processor: processor.name, partition: p, retryInMs: pause }, 'processing failed; the batch will be delivered again');
        delivery.retry(pause);
        await sleep(pause);
        continue;
      }
      clearInterval(keepAlive);
      // If this acknowledgement is lost the batch comes back and is skipped by its position.
      await delivery.ack().catch((err: unknown) => logger.warn({ err, processor: processor.name, partition: p }, 'acknowledging a batch failed'));
      if (fresh.length > 0) processor.afterCommit?.(fresh);
      // Gathering, as on the embedded log: a caught-up worker otherwise commits one transaction
      // (five statements, two pulls, an ack) per message and partition; waiting lets the next
      // delivery carry several.
      const gather = options.subscribedGatherMs ?? SUBSCRIBED_GATHER_MS;
      if (gather > 0 && delivery.batches.length < (options.maxBatches ?? 32)) await sleep(gather);
    }
    await sub?.close().catch(() => undefined);
  };

  const loops = Array.from({ length: log.partitions }, (_, p) => loop(p));

  return {
    positions: () => new Map(positions),
    drain: (timeoutMs = 30_000) => drainPositions(log, positions, processor.name, timeoutMs, 20),
    stop: async () => {
      controller.abort();
      clearInterval(watchdog);
      for (const kick of kicks.values()) kick();
      await Promise.all(loops);
      await log.releasePartitions?.(processor.name).catch((err: unknown) => logger.warn({ err }, 'releasing partitions failed'));
    },
  };
}
