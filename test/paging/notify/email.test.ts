import type { AddressInfo, Socket } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, type TestKeel } from '../../helpers/keel.js';
import { applyOk, eventsV2, integrationKey, startPagingKeel, waitFor } from '../../helpers/paging.js';
import { SMTP_CONNECTIONS } from '../../../src/paging/notify/smtp-transports.js';

interface Mail {
  from: string;
  to: string[];
  raw: string;
  user: string | undefined;
}

let t: TestKeel;
let smtp: SMTPServer;
let port: number;
const mails: Mail[] = [];
/** Every TCP connection Keel opened to the SMTP server, open or closed. */
const sockets: Socket[] = [];

/** The decoded text/plain part of a MIME message (nodemailer writes quoted-printable or base64). */
function textPart(raw: string): { headers: string; text: string } {
  const [head, ...rest] = raw.split(/\r?\n\r?\n/);
  const boundary = /boundary="?([^";\r\n]+)"?/.exec(head!)?.[1];
  const body = rest.join('\n\n');
  const parts = boundary ? body.split(`--${boundary}`) : [`${head}\n\n${body}`];
  const plain = parts.find((p) => /content-type:\s*text\/plain/i.test(p))!;
  const [ph, ...pb] = plain.replace(/^\r?\n/, '').split(/\r?\n\r?\n/);
  let text = pb.join('\n\n');
  if (/content-transfer-encoding:\s*quoted-printable/i.test(ph!)) {
    text = text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
    text = Buffer.from(text, 'latin1').toString('utf8');
  } else if (/content-transfer-encoding:\s*base64/i.test(ph!)) text = Buffer.from(text.replace(/\s+/g, ''), 'base64').toString('utf8');
  return { headers: head!, text: text.replace(/\r\n/g, '\n') };
}

beforeAll(async () => {
  smtp = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, _session, cb) {
      if (auth.username === 'keel' && auth.password === 'smtp-pass-123') cb(null, { user: auth.username });
      else cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          user: session.user as string | undefined,
        });
        cb();
      });
    },
  });
  smtp.server.on('connection', (socket: Socket) => sockets.push(socket));
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
  port = (smtp.server.address() as AddressInfo).port;
  t = await startPagingKeel();
  await applyOk(
    t,
    `apiVersion: keel/v1
kind: User
metadata: {name: dana}
spec:
  email: dana@example.com
  name: Dana Example
  contactMethods: [{name: work-mail, type: email, address: dana.pager@example.com}]
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
`,
  );
});
afterAll(async () => {
  await t?.close();
  await new Promise<void>((r) => smtp?.close(() => r()));
});

describe('email notifications over SMTP', () => {
  it('stores SMTP settings with the password sealed and never shown', async () => {
    const put = await http(`${t.url}/v1/paging/smtp`, {
      method: 'PUT',
      key: t.adminKey,
      json: { host: '127.0.0.1', port, user: 'keel', password: 'smtp-pass-123', from: 'Keel <keel@example.com>' },
    });
    expect(put.status, put.text).toBe(200);
    expect(put.body).toEqual({ host: '127.0.0.1', port, secure: false, requireTls: false, user: 'keel', from: 'Keel <keel@example.com>', password_set: true });
    const get = await http(`${t.url}/v1/paging/smtp`, { key: t.adminKey });
    expect(get.text).not.toContain('smtp-pass-123');
    const rows = await t.keel.store.db.selectFrom('paging_settings').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain('smtp-pass-123');
    const bad = await http(`${t.url}/v1/paging/smtp`, { method: 'PUT', key: t.adminKey, json: { host: '127.0.0.1', port: 99999, from: 'x@y.z' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toBe('port');
  });

  it('pages by email with severity, summary, links and a working acknowledge link', async () => {
    const key = await integrationKey(t, 'events-v2', 'mail');
    const r = await http(`${t.url}/v1/integrations/events-v2`, {
      json: eventsV2(key, { payload: { summary: 'Mail queue stuck', source: 'mx-1', severity: 'critical' }, links: [{ href: 'https://runbooks.example/mail', text: 'Runbook' }] }),
    });
    expect(r.status).toBe(202);
    const mail = await waitFor('the email', () => mails[0]);
    expect(mail.to).toEqual(['dana.pager@example.com']);
    expect(mail.from).toBe('keel@example.com');
    expect(mail.user).toBe('keel');
    const { headers, text } = textPart(mail.raw);
    expect(headers).toMatch(/^Subject: \[SEV2\] Incident #1: Mail queue stuck$/m);
    expect(headers).toMatch(/^X-Keel-Delivery: dlv_\w+$/m);
    expect(text).toContain('Severity: SEV2');
    expect(text).toContain('Service:  mail');
    expect(text).toContain('[critical] Mail queue stuck (events-v2)');
    expect(text).toContain('Runbook: https://runbooks.example/mail');
    // "Incident:" opens the console's incident page (not the JSON API), with the team in the link.
    const incident = (await http(`${t.url}/v1/incidents/1`, { key: t.adminKey })).body;
    const open = new URL(/Incident: +(\S+)/.exec(text)![1]!);
    expect(open.pathname + open.search).toBe(`/incidents/${incident.id}?team=default`);
    const page = await http(`${t.url}${open.pathname}${open.search}`);
    expect([page.status, page.headers['content-type']]).toEqual([200, 'text/html; charset=utf-8']);
    const ackUrl = /Acknowledge: (\S+)/.exec(text)![1]!;
    const u = new URL(ackUrl);
    const ack = await http(`${t.url}${u.pathname}${u.search}`, { method: 'POST' });
    expect(ack.status, ack.text).toBe(200);
    expect(ack.body.incident).toMatchObject({ number: 1, state: 'acknowledged' });
    const n = (await http(`${t.url}/v1/incidents/1/notifications`, { key: t.adminKey })).body.notifications;
    expect(n[0]).toMatchObject({ channel: 'email', status: 'sent', attempts: 1, last_status: 250 });
  });

  it('keeps working across a secret key rotation, which re-encrypts paging’s sealed columns', async () => {
    await integrationKey(t, 'alertmanager', 'mail');
    await http(`${t.url}/v1/paging/secrets`, { key: t.adminKey, json: { name: 'some-hook', value: 'hook-secret' } });
    const rotated = await http(`${t.url}/v1/secrets/rotate`, { key: t.adminKey, json: { new_key: true } });
    expect(rotated.status, rotated.text).toBe(200);
    const status = rotated.body.status;
    const col = (table: string) => status.columns.find((c: any) => c.table === table && c.column === 'sealed');
    for (const table of ['paging_secrets', 'paging_settings', 'integration_keys']) {
      expect(col(table), table).toBeDefined();
      expect(Object.keys(col(table).by_key), table).toEqual([status.current_key_id]);
      expect(col(table).not_sealed, table).toBe(0);
    }
    const before = mails.length;
    const inc = await http(`${t.url}/v1/incidents`, { key: t.adminKey, json: { title: 'After rotation', service: 'mail', severity: 'SEV3' } });
    expect(inc.status, inc.text).toBe(201);
    const mail = await waitFor('the email after rotation', () => mails[before]);
    expect(mail.user).toBe('keel');
    expect(textPart(mail.raw).headers).toMatch(/^Subject: \[SEV3\] Incident #2: After rotation$/m);
  });

  it('sends a burst of pages over a few pooled SMTP connections, and replaces one the server dropped', async () => {
    const mailsBefore = mails.length;
    const socketsBefore = sockets.length;
    const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => http(`${t.url}/v1/incidents`, { key: t.adminKey, json: { title: `Burst ${i}`, service: 'mail', severity: 'SEV3' } })));
    for (const r of burst) expect(r.status, r.text).toBe(201);
    await waitFor('the burst of 12 emails', () => mails.length >= mailsBefore + 12);
    const subjects = mails.slice(mailsBefore).map((m) => /^Subject: \[SEV3\] Incident #\d+: (.+)$/m.exec(textPart(m.raw).headers)?.[1]);
    expect(subjects.sort()).toEqual(Array.from({ length: 12 }, (_, i) => `Burst ${i}`).sort());
    // One connection per email before the pool: 12.
    expect(sockets.length - socketsBefore).toBeGreaterThan(0);
    expect(sockets.length - socketsBefore).toBeLessThanOrEqual(SMTP_CONNECTIONS);

    // The relay drops every connection (a restart, its idle timeout): the next page still goes out, once.
    for (const s of sockets) s.destroy();
    await waitFor('the dropped connections to close', () => sockets.every((s) => s.destroyed));
    const after = await http(`${t.url}/v1/incidents`, { key: t.adminKey, json: { title: 'After the relay dropped us', service: 'mail', severity: 'SEV3' } });
    expect(after.status, after.text).toBe(201);
    await waitFor('the email after the drop', () => mails.some((m) => /After the relay dropped us/.test(textPart(m.raw).headers)));
    const n = await waitFor('its delivery recorded', async () => {
      const list = (await http(`${t.url}/v1/incidents/${after.body.number}/notifications`, { key: t.adminKey })).body.notifications as { status: string }[];
      return list.find((x) => x.status === 'sent');
    });
    expect(n).toMatchObject({ channel: 'email', status: 'sent', attempts: 1, last_status: 250 });
    expect(mails.filter((m) => /After the relay dropped us/.test(textPart(m.raw).headers))).toHaveLength(1);
  });

  it('a wrong SMTP password fails the delivery with the server’s answer, visible in the timeline', async () => {
    await http(`${t.url}/v1/paging/smtp`, { method: 'PUT', key: t.adminKey, json: { host: '127.0.0.1', port, user: 'keel', password: 'wrong', from: 'keel@example.com' } });
    // A declared incident of the service pages Dana through its policy.
    const inc = await http(`${t.url}/v1/incidents`, { key: t.adminKey, json: { title: 'Declared mail outage', service: 'mail', severity: 'SEV3' } });
    expect(inc.status, inc.text).toBe(201);
    const entry = await waitFor('the failure in the timeline', async () => {
      const tl = (await http(`${t.url}/v1/incidents/${inc.body.id}/timeline`, { key: t.adminKey })).body.timeline as any[];
      return tl.find((e) => e.type === 'notification' && e.data.status === 'failed');
    });
    expect(entry.message).toMatch(/Could not page Dana Example via work-mail after 1 attempt: SMTP: Invalid login: 535/);
  });
});
