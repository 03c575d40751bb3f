#!/usr/bin/env node
/**
 * A storm of email pages through a local SMTP server (smtp-server, in this process), against a
 * Keel started on a fresh data dir (npm run build first): N incidents declared at once for a
 * service whose policy pages one person by email, then the time until the server has every
 * email, and how many connections Keel opened. Beside it, the ceiling measured in the same run:
 * the same emails sent straight to the same server by nodemailer's pool, without Keel.
 *
 *   node scripts/bench-email-storm.mjs [--emails 300] [--json]
 */
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { spawnKeel } from '../dist/bench/spawn-keel.js';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const EMAILS = opt('emails', 300);
const json = args.includes('--json');
const log = (s) => process.stderr.write(`${s}\n`);

let mails = 0;
let connections = 0;
const smtp = new SMTPServer({
  disabledCommands: ['STARTTLS'],
  authOptional: true,
  logger: false,
  onData(stream, _session, cb) {
    stream.resume();
    stream.on('end', () => {
      mails++;
      cb();
    });
  },
});
smtp.server.on('connection', () => connections++);
await new Promise((r) => smtp.listen(0, '127.0.0.1', r));
const port = smtp.server.address().port;

const until = async (what, ok, timeoutMs = 300_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

// The ceiling: the same number of emails sent straight to the server over a pool of 5.
log(`measuring the ceiling: ${EMAILS} emails sent straight to the local SMTP server (nodemailer pool, 5 connections)…`);
const direct = nodemailer.createTransport({ pool: true, maxConnections: 5, host: '127.0.0.1', port, secure: false, ignoreTLS: true });
let started = performance.now();
await Promise.all(Array.from({ length: EMAILS }, (_, i) => direct.sendMail({ from: 'bench@example.com', to: 'dana@example.com', subject: `ceiling ${i}`, text: 'x'.repeat(1500) })));
const ceilingPerS = EMAILS / ((performance.now() - started) / 1000);
direct.close();

const keel = await spawnKeel();
const call = async (method, path, body) => {
  const r = await fetch(`${keel.url}${path}`, { method, headers: { authorization: `Bearer ${keel.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
};
let result;
try {
  const definitions = `apiVersion: keel/v1
kind: User
metadata: {name: dana}
spec: {email: dana@example.com, name: Dana, contactMethods: [{name: mail, type: email, address: dana@example.com}]}
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: dana}
spec: {steps: [{notify: {users: [dana]}, wait: 10m}]}
---
apiVersion: keel/v1
kind: Service
metadata: {name: mail}
spec: {escalationPolicy: dana}
`;
  await call('POST', '/v1/definitions/apply', { sources: [{ file: 'bench.yaml', content: definitions }] });
  await call('PUT', '/v1/paging/smtp', { host: '127.0.0.1', port, from: 'keel@example.com' });
  const before = { mails, connections };
  log(`declaring ${EMAILS} incidents, 20 requests at a time, each paging Dana by email…`);
  started = performance.now();
  for (let i = 0; i < EMAILS; i += 20) {
    await Promise.all(Array.from({ length: Math.min(20, EMAILS - i) }, (_, j) => call('POST', '/v1/incidents', { title: `Storm ${i + j}`, service: 'mail', severity: 'SEV3' })));
  }
  await until(`${EMAILS} emails`, () => mails - before.mails >= EMAILS);
  const seconds = (performance.now() - started) / 1000;
  const perS = EMAILS / seconds;
  result = {
    emails: EMAILS,
    seconds: Math.round(seconds * 100) / 100,
    emails_per_s: Math.round(perS),
    smtp_connections: connections - before.connections,
    ceiling_emails_per_s: Math.round(ceilingPerS),
    ratio: Math.round((perS / ceilingPerS) * 1000) / 1000,
  };
} finally {
  await keel.stop();
  keel.cleanup();
  await new Promise((r) => smtp.close(r));
}
if (json) console.log(JSON.stringify(result));
else {
  console.log(`email storm:  ${result.emails} pages in ${result.seconds} s = ${result.emails_per_s} emails/s over ${result.smtp_connections} SMTP connections`);
  console.log(`ceiling:      ${result.ceiling_emails_per_s} emails/s sent straight to the same server (pool of 5)`);
  console.log(`ratio:        ${result.ratio}`);
}
