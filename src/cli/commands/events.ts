/** `keel events send|list|tail`. */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { positiveInt, time } from '../args.js';
import { clientOf, globals } from '../context.js';
import { progress, progressDone } from '../output.js';

interface Page {
  events: Record<string, unknown>[];
  cursor: string;
  has_more: boolean;
}

interface Answer {
  accepted: number;
  rejected: number;
  errors: { index: number; line?: number; field: string; reason: string }[];
}

export function registerEvents(program: Command): void {
  const events = program.command('events').description('Send events, read them back, follow new ones');

  events
    .command('send')
    .description('Send NDJSON events from files or standard input, in batches')
    .argument('[files...]', 'NDJSON files (default: standard input)')
    .option('-b, --batch <n>', 'events per request', positiveInt, 1000)
    .action(async (files: string[], opts: { batch: number }, cmd: Command) => {
      const client = clientOf(cmd);
      let sent = 0;
      let accepted = 0;
      let rejected = 0;
      let lineNo = 0;
      let batch: string[] = [];
      let batchStart = 0;
      const flush = async () => {
        if (batch.length === 0) return;
        const res = await client.call<Answer>('POST', '/v1/events', {
          raw: `${batch.join('\n')}\n`,
          headers: { 'content-type': 'application/x-ndjson' },
        });
        sent += batch.length;
        accepted += res.accepted;
        rejected += res.rejected;
        for (const e of res.errors) {
          process.stderr.write(`line ${batchStart + (e.line ?? e.index + 1)}: ${e.field ? `${e.field}: ` : ''}${e.reason}\n`);
        }
        progress(`sent ${sent} events: ${accepted} accepted, ${rejected} rejected`);
        batch = [];
      };
      const sources = files.length ? files : ['-'];
      for (const f of sources) {
        const input = f === '-' ? process.stdin : createReadStream(f);
        const rl = createInterface({ input, crlfDelay: Infinity });
        for await (const line of rl) {
          if (batch.length === 0) batchStart = lineNo;
          lineNo++;
          batch.push(line);
          if (batch.length >= opts.batch) await flush();
        }
        await flush();
      }
      progressDone();
      if (globals(cmd).json) process.stdout.write(`${JSON.stringify({ sent, accepted, rejected })}\n`);
      else process.stdout.write(`${accepted} accepted, ${rejected} rejected\n`);
      if (rejected > 0) process.exitCode = 1;
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
      let stop = false;
      process.once('SIGINT', () => {
        stop = true;
      });
      let announced = false;
      while (!stop) {
        // The first call answers at once, so the user (and scripts) know from when events follow.
        const page = await client.call<Page>('GET', '/v1/events', { query: { cursor, limit: 1000, wait: announced ? 10 : 0 } });
        for (const e of page.events) process.stdout.write(`${JSON.stringify(e)}\n`);
        cursor = page.cursor;
        if (!announced) {
          process.stderr.write(`following events after cursor ${cursor} (Ctrl-C stops)\n`);
          announced = true;
        }
      }
    });
}
