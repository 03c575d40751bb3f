/** `keel events send|list|tail`. */
import type { EventPageAnswer } from '../../ingest/schemas.js';
import type { Command } from 'commander';
import { UsageError, positiveInt, time } from '../args.js';
import { clientOf, globals } from '../context.js';
import { printJson, ttyProgress, ttyProgressDone } from '../output.js';
import { SendState, batchKey, batches, postBatch, sourceOf, withRetries, type RetryPolicy } from '../send-events.js';

type Page = EventPageAnswer;

export function registerEvents(program: Command): void {
  const events = program.command('events').description('Send events, read them back, follow new ones');

  events
    .command('send')
    .description('Send NDJSON events from files or standard input, in batches; safe to retry and resume')
    .argument('[files...]', 'NDJSON files (default: standard input)')
    .option('-b, --batch <n>', 'events per request', positiveInt, 1000)
    .option('--resume', 'skip what the state file records as acknowledged (after an interrupted send)')
    .option('--state <file>', 'where acknowledged offsets are recorded', '.keel-send-state.json')
    .option('--retries <n>', 'attempts per batch on 429, 503 or no connection before giving up', positiveInt, 30)
    .addHelpText(
      'after',
      [
        '',
        'Each batch carries an Idempotency-Key derived from the file, its byte offset and its bytes:',
        "a re-run within the server's idempotency TTL (24h by default) stores nothing twice, and",
        '--resume continues after the last acknowledged batch at any time. 429 and 503 answers are',
        'retried after their Retry-After, lost connections with backoff.',
      ].join('\n'),
    )
    .action(async (files: string[], opts: { batch: number; resume?: boolean; state: string; retries: number }, cmd: Command) => {
      const client = clientOf(cmd);
      const sources = (files.length ? files : ['-']).map(sourceOf);
      if (opts.resume && sources.some((s) => s.identity === '-')) throw new UsageError('--resume needs files: standard input cannot be read again from an offset');
      const state = new SendState(opts.state);
      const total = { sent: 0, accepted: 0, rejected: 0, batches: 0, retries: 0, skipped_bytes: 0 };
      const policy: RetryPolicy = {
        maxAttempts: opts.retries,
        baseDelayMs: 500,
        maxDelayMs: 30_000,
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        onRetry: (why, ms) => ttyProgress(`${why}: retrying in ${(ms / 1000).toFixed(1)} s (sent ${total.sent} events)`),
      };
      for (const src of sources) {
        const known = state.get(src.identity);
        const start = opts.resume && known ? { offset: known.offset, line: known.line } : { offset: 0, line: 0 };
        if (src.size !== undefined && start.offset > src.size)
          throw new UsageError(`${src.name}: the state file records offset ${start.offset} but the file has ${src.size} bytes; it changed since, send it without --resume`);
        total.skipped_bytes += start.offset;
        const counts = opts.resume && known ? { accepted: known.accepted, rejected: known.rejected } : { accepted: 0, rejected: 0 };
        for await (const batch of batches(src.open(start.offset), opts.batch, start)) {
          let sent;
          try {
            sent = await withRetries(postBatch(client, batch, batchKey(src.identity, batch)), policy);
          } catch (e) {
            if (src.identity !== '-') process.stderr.write(`stopped at byte ${batch.offset} of ${src.name}; run again with --resume to continue after what was acknowledged\n`);
            throw e;
          }
          const res = sent.value;
          total.retries += sent.retries;
          total.batches++;
          total.sent += batch.lines;
          total.accepted += res.accepted;
          total.rejected += res.rejected;
          counts.accepted += res.accepted;
          counts.rejected += res.rejected;
          for (const e of res.errors) {
            process.stderr.write(`${src.identity === '-' ? '' : `${src.name} `}line ${batch.firstLine + (e.line ?? e.index + 1)}: ${e.field ? `${e.field}: ` : ''}${e.reason}\n`);
          }
          if (src.identity !== '-') state.set(src.identity, { offset: batch.end, line: batch.firstLine + batch.lines, size: src.size ?? 0, ...counts, done: false });
          ttyProgress(`sent ${total.sent} events: ${total.accepted} accepted, ${total.rejected} rejected`);
        }
        if (src.identity !== '-') {
          const last = state.get(src.identity);
          state.set(src.identity, { offset: src.size ?? 0, line: last?.line ?? 0, size: src.size ?? 0, ...counts, done: true });
        }
      }
      ttyProgressDone();
      if (globals(cmd).json) printJson(total);
      else {
        process.stdout.write(
          `${total.sent} events in ${total.batches} batches: ${total.accepted} accepted, ${total.rejected} rejected` +
            `${total.retries ? `; ${total.retries} retries` : ''}${total.skipped_bytes ? `; resumed after ${total.skipped_bytes} acknowledged bytes` : ''}\n`,
        );
      }
      if (total.rejected > 0) process.exitCode = 1;
    });

  events
    .command('list')
    .description('Print stored events as NDJSON, oldest first')
    .option('--from <time>', 'events at or after this time (a date, RFC 3339, epoch ms, 7d or now-1h)', time)
    .option('--to <time>', 'events before this time', time)
    .option('-l, --limit <n>', 'at most this many events', positiveInt, 100)
    .option('--cursor <cursor>', 'continue from a cursor printed by a previous list')
    .action(async (opts: { from?: string; to?: string; limit: number; cursor?: string }, cmd: Command) => {
      const client = clientOf(cmd);
      let remaining = opts.limit;
      let cursor = opts.cursor;
      while (remaining > 0) {
        const page = await client.call<Page>('GET', '/v1/events', {
          query: { from: opts.from, to: opts.to, limit: Math.min(remaining, 10_000), cursor },
        });
        for (const e of page.events) process.stdout.write(`${JSON.stringify(e)}\n`);
        remaining -= page.events.length;
        cursor = page.cursor;
        if (!page.has_more) break;
      }
      process.stderr.write(`cursor: ${cursor}\n`);
    });

  events
    .command('tail')
    .description('Follow new events as they arrive (NDJSON on standard output); Ctrl-C stops')
    .option('--from-start', 'print every stored event first')
    .option('--cursor <cursor>', 'resume from a cursor')
    .action(async (opts: { fromStart?: boolean; cursor?: string }, cmd: Command) => {
      const client = clientOf(cmd);
      let cursor = opts.cursor ?? (opts.fromStart ? undefined : 'latest');
      // Ctrl-C aborts the long poll in flight: tail stops at once, not when the poll would end.
      const stop = new AbortController();
      const onSigint = () => stop.abort();
      process.once('SIGINT', onSigint);
      let announced = false;
      try {
        while (!stop.signal.aborted) {
          // The first call answers at once, so the user (and scripts) know from when events follow.
          let page: Page;
          try {
            page = await client.call<Page>('GET', '/v1/events', { query: { cursor, limit: 1000, wait: announced ? 10 : 0 }, signal: stop.signal });
          } catch (e) {
            if (stop.signal.aborted) break;
            throw e;
          }
          for (const e of page.events) process.stdout.write(`${JSON.stringify(e)}\n`);
          cursor = page.cursor;
          if (!announced) {
            process.stderr.write(`following events after cursor ${cursor} (Ctrl-C stops)\n`);
            announced = true;
          }
        }
      } finally {
        process.off('SIGINT', onSigint);
      }
      if (cursor) process.stderr.write(`stopped; continue with --cursor ${cursor}\n`);
    });
}
