/**
 * A processor folds batches of the event log into state (SLO counters, usage meters...). It never
 * reads the log or writes its position itself: a runner does, so the same processor runs on the
 * embedded log (this file's runner) and on JetStream (the distributed worker's runner), and both
 * keep the exactly-once contract: results and position commit in one transaction, and a batch at
 * or below the committed position is never processed again.
 */
import type { CoreContext } from '../module/context.js';
import type { LogBatch } from '../log/event-log.js';
import type { BatchProcessor, ProcessorRunner, RunnerOptions } from './batch-processor.js';
import { DEFAULT_GATHER_MS, ReadAgain, drainPositions } from './gathering.js';
import { readPosition, writePosition } from './positions.js';
import { runSubscribedProcessor } from './subscribed-runner.js';

export { DEFAULT_GATHER_MS, ReadAgain };
export type { BatchProcessor, ProcessorRunner, RunnerOptions } from './batch-processor.js';

/**
 * Runs a processor over every partition of the log, from the positions it committed. A failed
 * transaction is retried from the committed position after a pause; nothing is skipped. Only a
 * process with the worker role runs processors (the embedded default has every role); a log that
 * delivers batches itself (JetStream) gets the subscribing runner, shared among live workers.
 */

export function runProcessor<P>(ctx: CoreContext, processor: BatchProcessor<P>, options: RunnerOptions = {}): ProcessorRunner {
  if (!ctx.roles.worker) return idleRunner();
  if (ctx.log.subscribe) return runSubscribedProcessor(ctx, processor as BatchProcessor, options);
  const { log, store, logger, clock } = ctx;
  const positions = new Map<number, number>();
  let stopped = false;
  let wake: (() => void) | undefined;
  const loops: Promise<void>[] = [];

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });

  const unsubscribe = ctx.bus.on('log.appended', () => wake?.());

  for (let p = 0; p < log.partitions; p++) {
    loops.push(
      (async () => {
        let position = await readPosition(store.db, processor.name, p);
        positions.set(p, position);
        let failures = 0;
        while (!stopped) {
          let batches: LogBatch[];
          try {
            batches = await log.read(p, position, {
              maxBatches: options.maxBatches ?? 64,
              maxBytes: options.maxBytes ?? 16 * 1024 * 1024,
              headersOnly: processor.readsData === false || processor.needsData?.() === false,
            });
          } catch (err) {
            logger.error({ err, processor: processor.name, partition: p }, 'reading the event log failed');
            await sleep(Math.min(5000, 100 * 2 ** failures++));
            continue;
          }
          if (batches.length === 0) {
            await sleep(options.idleMs ?? 50);
            continue;
          }
          const last = batches[batches.length - 1]!.position;
          try {
            const prepared = processor.prepare ? await processor.prepare(batches) : undefined;
            await store.db.transaction().execute(async (trx) => {
              await processor.process(trx, batches, prepared);
              await writePosition(trx, processor.name, p, last, clock.now());
            });
            failures = 0;
          } catch (err) {
            if (err instanceof ReadAgain) continue;
            logger.error({ err, processor: processor.name, partition: p, from: position }, 'processing failed; retrying from the committed position');
            await sleep(Math.min(5000, 100 * 2 ** failures++));
            continue;
          }
          position = last;
          positions.set(p, position);
          processor.afterCommit?.(batches);
          // Tell the log how far this consumer got, so retention keeps what it has not read.
          log.commit(processor.name, p, position).catch((err: unknown) => logger.warn({ err }, 'log commit hint failed'));
          // Gathering: wait a little before the next transaction so that under load each commit
          // (an fsync of the state database) covers many batches. 100 ms by default: processors
          // committing per batch cost ingest a quarter of its throughput (BENCHMARKS.md).
          const gather = options.gatherMs ?? DEFAULT_GATHER_MS;
          if (gather > 0 && batches.length < (options.maxBatches ?? 64)) await new Promise((r) => setTimeout(r, gather));
        }
      })(),
    );
  }

  return {
    positions: () => new Map(positions),
    drain: (timeoutMs = 30_000) => drainPositions(log, positions, processor.name, timeoutMs, 10, () => wake?.()),
    stop: async () => {
      stopped = true;
      unsubscribe();
      wake?.();
      await Promise.all(loops);
    },
  };
}

/** What a process without the worker role gets: nothing runs here; workers elsewhere do it. */
function idleRunner(): ProcessorRunner {
  return {
    positions: () => new Map(),
    drain: async () => {
      throw new Error('this process does not run processors (no worker role)');
    },
    stop: async () => undefined,
  };
}
