/** `keel doctor`: what production needs, checked against the running Keel. */
import type { Command } from 'commander';
import { clientOf, globals } from '../context.js';
import { printJson } from '../output.js';

interface DoctorAnswer {
  mode: string;
  status: 'ok' | 'warn' | 'fail';
  checks: { name: string; status: 'ok' | 'warn' | 'fail'; message: string }[];
}

const LABEL = { ok: 'OK  ', warn: 'WARN', fail: 'FAIL' } as const;

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('Check durability and health: NATS version, fsync and replicas, PostgreSQL settings, live roles')
    .option('--strict', 'exit 1 on warnings too (for CI gates before production)')
    .addHelpText('after', '\nExit code: 0 when nothing failed (warnings are printed), 1 when a check failed (or warned, with --strict).')
    .action(async (opts: { strict?: boolean }, cmd: Command) => {
      const res = await clientOf(cmd).call<DoctorAnswer>('GET', '/v1/doctor');
      if (globals(cmd).json) printJson(res);
      else {
        process.stdout.write(`keel doctor (${res.mode} mode): ${res.status.toUpperCase()}\n`);
        const width = Math.max(...res.checks.map((c) => c.name.length));
        for (const c of res.checks) process.stdout.write(`${LABEL[c.status]}  ${c.name.padEnd(width)}  ${c.message}\n`);
      }
      if (res.status === 'fail' || (opts.strict && res.status === 'warn')) process.exitCode = 1;
    });
}
