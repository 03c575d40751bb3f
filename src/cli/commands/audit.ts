/** `keel audit list|export|verify`: the tamper-evident audit log, for admins and auditors. */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { InvalidArgumentError, type Command } from 'commander';
import { entryFromView, type AuditEntryView } from '../../audit/audit-query.js';
import type { AuditPageAnswer } from '../../audit/schemas.js';
import { ChainVerifier, type ChainResult } from '../../audit/verify-chain.js';
import { HandledError } from './definitions.js';
import { time } from '../args.js';
import { clientOf, globals } from '../context.js';
import { printJson, printTable, progress, progressDone } from '../output.js';

type Page = AuditPageAnswer;

interface Filters {
  since?: string;
  until?: string;
  action?: string;
  actor?: string;
  target?: string;
  tenant?: string;
}

const filters = (c: Command) =>
  c
    .option('--since <time>', 'a date, RFC 3339, epoch ms, now-24h or a duration back (24h, 30d)', time)
    .option('--until <time>', 'end of the period (same forms)', time)
    .option('--action <action>', 'only this action, e.g. keys.create, auth.sign_in')
    .option('--actor <actor>', 'only this actor, e.g. user:alice@example.com, key:keel_AbC')
    .option('--target <target>', 'only this target, e.g. key/key_…')
    .option('--tenant <tenant>', 'only this tenant (admins of the system tenant)');

function report(r: ChainResult, json: boolean | undefined): void {
  if (json) printJson(r);
  else if (r.ok) {
    process.stdout.write(`audit chain intact: ${r.checked} entries checked${r.head ? `; head ${r.head.seq}:${r.head.hash}` : ''}\n`);
  } else {
    process.stdout.write(`audit chain BROKEN at entry ${r.problem!.seq} (${r.problem!.kind}): ${r.problem!.reason}\n${r.checked} entries before it are intact.\n`);
  }
  if (!r.ok) {
    process.exitCode = 1;
    throw new HandledError();
  }
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('The tamper-evident audit log: list, export (JSON lines), verify the hash chain');

  filters(audit.command('list').description('Show audit entries, oldest first'))
    .option('-n, --limit <n>', 'entries to show', (v) => Number(v), 50)
    .action(async (opts: Filters & { limit: number }, cmd: Command) => {
      const res = await clientOf(cmd).call<Page>('GET', '/v1/audit', { query: { ...opts, limit: opts.limit } });
      if (globals(cmd).json) return printJson(res);
      printTable(
        res.entries.map((e) => ({ ...e, ok: e.ok ? 'ok' : 'REFUSED' })),
        ['seq', 'at', 'actor', 'action', 'tenant', 'target', 'ok', 'source_ip'],
      );
    });

  filters(audit.command('export').description('Write audit entries as JSON lines (one entry per line, with hashes), for auditors'))
    .option('-o, --output <file>', 'write to this file instead of standard output')
    .action(async (opts: Filters & { output?: string }, cmd: Command) => {
      const client = clientOf(cmd);
      const out: WriteStream | NodeJS.WriteStream = opts.output ? createWriteStream(opts.output, { flags: 'wx' }) : process.stdout;
      let after: number | undefined;
      let n = 0;
      const { output: _o, ...f } = opts;
      for (;;) {
        const page = await client.call<Page>('GET', '/v1/audit', { query: { ...f, limit: 1000, after } });
        for (const e of page.entries) {
          if (!out.write(`${JSON.stringify(e)}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
        }
        n += page.entries.length;
        progress(`exported ${n} audit entries`);
        if (page.next_after === null) break;
        after = page.next_after;
      }
      progressDone();
      if (out !== process.stdout) await new Promise<void>((r) => (out as WriteStream).end(r));
    });

  audit
    .command('verify')
    .description('Check the hash chain; names the first entry that was changed, removed or reordered (exit 1 if any)')
    .option('--anchor <seq:hash>', 'an entry remembered earlier (e.g. from a compliance report): also catches entries removed from the end', (v: string) => {
      if (!/^\d+:[0-9a-f]{64}$/.test(v)) throw new InvalidArgumentError('expected <seq>:<64 hex characters>, e.g. 42:9f86d0…');
      return v;
    })
    .option('-f, --file <export.jsonl>', 'verify an export offline instead of the server’s log')
    .action(async (opts: { anchor?: string; file?: string }, cmd: Command) => {
      if (!opts.file) {
        const r = await clientOf(cmd).call<ChainResult>('GET', '/v1/audit/verify', { query: { anchor: opts.anchor } });
        return report(r, globals(cmd).json);
      }
      let v: ChainVerifier | undefined;
      const seen = new Map<number, string>();
      let lineNo = 0;
      for await (const line of createInterface({ input: createReadStream(opts.file), crlfDelay: Infinity })) {
        lineNo++;
        if (!line.trim()) continue;
        let e: AuditEntryView;
        try {
          e = JSON.parse(line) as AuditEntryView;
        } catch {
          throw new Error(`${opts.file}:${lineNo}: not a JSON line`);
        }
        v ??= new ChainVerifier(e.seq === 1);
        seen.set(e.seq, e.hash);
        if (!v.push(entryFromView(e))) break;
      }
      v ??= new ChainVerifier(true);
      if (opts.anchor) {
        const [seq, hash] = opts.anchor.split(':') as [string, string];
        v.anchor({ seq: Number(seq), hash }, seen.get(Number(seq)));
      }
      report(v.result(), globals(cmd).json);
    });
}
