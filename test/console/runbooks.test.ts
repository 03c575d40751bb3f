/**
 * Runbook runs in the console and the signed one-click approval link, end to end in Debian's
 * Chromium against a real Keel: an approval step emails its approver (a real SMTP server catches
 * the mail) a link whose page names the run and step; its Approve button (a POST: the GET changed
 * nothing) approves once. The run's page shows each step's state, output (secrets redacted) and
 * journal, refreshes by itself (a running command step's output so far shows under it, marked
 * live, until its recorded output replaces it), and offers approve/reject and the outcome-unknown decisions to the
 * people who may make them. People who may run runbooks start one from the Runbooks page: inputs
 * from its typed parameters, a dry run that shows each step resolved, the API's messages next to
 * the fields they name.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, type TestKeel } from '../helpers/keel.js';
import { applyOk, startPagingKeel, waitFor } from '../helpers/paging.js';
import { addUser } from '../helpers/security.js';
import { launch, screenshot, seriousViolations, signIn } from './browser.js';

const SECRET = 'tok-NEVER-SHOWN-9876';
const dana = { email: 'dana@example.com', password: 'dana-password-1234', name: 'Dana Example' };
const vic = { email: 'vic@example.com', password: 'vic-password-12345', name: 'Vic Viewer' };

let t: TestKeel;
let smtp: SMTPServer;
let receiver: Server;
let receiverUrl = '';
let browser: Browser;
const mails: { to: string[]; raw: string }[] = [];

const api = (path: string, init: { method?: string; json?: unknown } = {}) => http(`${t.url}${path}`, { key: t.adminKey, ...init });

/**
 * The text part of a mail, quoted-printable decoded (nodemailer writes long lines that way). Parts
 * are split at the mail's own boundary: a soft line break can start a line of the link's token
 * with "--", which is not a boundary.
 */
function mailText(raw: string): string {
  const boundary = /boundary="?([^";\r\n]+)"?/i.exec(raw)?.[1];
  const parts = boundary ? raw.split(`--${boundary}`) : [raw];
  const plain = parts.find((p) => /content-type:\s*text\/plain/i.test(p)) ?? raw;
  const body = plain
    .split(/\r?\n\r?\n/)
    .slice(1)
    .join('\n\n');
  return /quoted-printable/i.test(plain) ? body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))) : body;
}

/** The approval link mailed for `run` (path and query: the test Keel's public URL says port 0). */
async function mailedLink(run: string): Promise<string> {
  const mail = await waitFor(`the approval mail for ${run}`, () => mails.find((m) => mailText(m.raw).includes(run)));
  expect(mail.to).toEqual(['dana.pager@example.com']);
  const u = new URL(/Approve or reject: (\S+)/.exec(mailText(mail.raw))![1]!);
  return `${u.pathname}${u.search}`;
}

async function startRun(runbook: string): Promise<string> {
  const r = await api(`/v1/runbooks/${runbook}/runs`, { json: {} });
  expect(r.status, r.text).toBe(201);
  return r.body.id as string;
}

const runOf = async (id: string) => (await api(`/v1/runbooks/runs/${id}`)).body;

beforeAll(async () => {
  smtp = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
        cb();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
  // The receiver answers, echoing the Authorization header (the secret must not show), or hangs.
  receiver = createServer((req, res) => {
    if (req.url?.startsWith('/hang')) return;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ switched: true, echoed: req.headers.authorization ?? null }));
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  t = await startPagingKeel({ runbooks: { pollInterval: '50ms', commands: ['/bin/sh'] } });
  const put = await api('/v1/paging/smtp', { method: 'PUT', json: { host: '127.0.0.1', port: (smtp.server.address() as AddressInfo).port, from: 'keel@example.com' } });
  expect(put.status, put.text).toBe(200);
  expect((await api('/v1/paging/secrets', { json: { name: 'ops-token', value: SECRET } })).status).toBeLessThan(300);
  await addUser(t.url, t.adminKey, { ...dana, role: 'responder' });
  await addUser(t.url, t.adminKey, { ...vic, role: 'viewer' });
  await applyOk(
    t,
    `apiVersion: keel/v1
kind: User
metadata: {name: dana}
spec:
  email: ${dana.email}
  name: ${dana.name}
  contactMethods: [{name: work-mail, type: email, address: dana.pager@example.com}]
---
apiVersion: keel/v1
kind: Runbook
metadata: {name: failover}
spec:
  steps:
    - name: confirm
      timeout: 10m
      approval: {users: [${dana.email}], message: "Fail checkout over to eu-west"}
    - name: switch
      http:
        method: POST
        url: "${receiverUrl}/switch"
        headers: {Authorization: "Bearer {{ secrets.ops-token }}"}
---
apiVersion: keel/v1
kind: Runbook
metadata: {name: quick-approval}
spec:
  steps:
    - name: confirm
      timeout: 1500ms
      approval: {users: [${dana.email}]}
---
apiVersion: keel/v1
kind: Runbook
metadata: {name: purge-cache}
spec:
  steps:
    - name: purge
      timeout: 300ms
      http: {method: POST, url: "${receiverUrl}/hang"}
---
apiVersion: keel/v1
kind: Runbook
metadata: {name: drain-region}
spec:
  description: Shift traffic away from a region
  parameters:
    region: {type: enum, values: [eu-west, us-east], required: true}
    percent: {type: number, default: 50, description: share of traffic to move}
    reason: {type: string, required: true}
    announce: {type: bool, default: false}
  steps:
    - name: shift
      http: {method: POST, url: "${receiverUrl}/shift?region={{ params.region }}&percent={{ params.percent }}", body: "{{ params.reason }}"}
    - name: check
      http: {method: GET, url: "${receiverUrl}/status?region={{ params.region }}&announce={{ params.announce }}"}
---
apiVersion: keel/v1
kind: Runbook
metadata: {name: reindex}
spec:
  parameters:
    gate: {type: string, required: true}
  steps:
    - name: rebuild
      timeout: 2m
      command:
        argv: [/bin/sh, -c, 'echo "reindexing: 40% done, token $TOKEN"; while [ ! -e "$GATE" ]; do sleep 0.05; done; echo "reindexing: 100% done"']
        env: {GATE: "{{ params.gate }}", TOKEN: "{{ secrets.ops-token }}"}
`,
  );
  browser = await launch();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await new Promise<void>((r) => smtp?.close(() => r()));
  await new Promise((r) => receiver?.close(r));
});

describe('the signed one-click approval link', () => {
  let run = '';
  let link = '';

  it('is mailed to the approver when the step starts waiting, naming the run and the step', async () => {
    run = await startRun('failover');
    link = await mailedLink(run);
    expect(link).toMatch(/^\/v1\/runbooks\/approval-links\?token=[\w-]+\.[\w-]+$/);
    const text = mailText(mails.find((m) => mailText(m.raw).includes(run))!.raw);
    expect(text).toContain('Approval needed: runbook failover, step confirm');
    expect(text).toContain('Fail checkout over to eu-west');
    expect(text).toContain(`/runbooks/runs/${run}?team=default`);
  });

  it('opens a confirmation page; the GET approves nothing', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const res = await page.goto(`${t.url}${link}`);
    expect(res!.status()).toBe(200);
    await page.waitForSelector('h1:text-is("Approve step confirm?")');
    const body = await page.textContent('main');
    expect(body).toContain(`Runbook failover, run ${run}, waits for your approval of step confirm.`);
    expect(body).toContain('Fail checkout over to eu-west');
    expect(body).toContain(`Deciding as ${dana.name} (${dana.email}).`);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'approval-link');
    expect(await runOf(run)).toMatchObject({ status: 'waiting', phase: 'approval', current_step: 'confirm' });
    // Its Approve button posts the form: the step is approved by the person the mail went to.
    await page.click('button:text-is("Approve")');
    await page.waitForSelector('h1:text-is("Approved")');
    expect(await page.textContent('main')).toContain(`run ${run}: approved by ${dana.email}`);
    const done = await waitFor('the run to end', async () => ((await runOf(run)).status === 'succeeded' ? runOf(run) : undefined));
    expect(done.steps.map((s: { name: string; status: string }) => [s.name, s.status])).toEqual([
      ['confirm', 'succeeded'],
      ['switch', 'succeeded'],
    ]);
    expect(done.steps[0].output).toEqual({ approved_by: `user:${dana.email}` });
    expect(done.journal.find((j: { event: string }) => j.event === 'approval.approved').actor).toBe(`user:${dana.email}`);
    const audit = (await api('/v1/audit?action=runbooks.approval.link')).body;
    expect(JSON.stringify(audit)).toContain(`runbook-run/${run}`);
    await ctx.close();
  });

  it('is refused once used, tampered with, or expired: 4xx with a page that says why', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const reused = await page.goto(`${t.url}${link}`);
    expect(reused!.status()).toBe(410);
    expect(await page.textContent('h1')).toBe('This link does not work');
    expect(await page.textContent('main p')).toMatch(/^this link was already used at \d{4}-/);
    expect(await page.locator('form').count()).toBe(0);
    // POSTed again (a second click racing the first, or a replay): refused too.
    const again = await http(`${t.url}${link}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'decision=approve' });
    expect(again.status).toBe(410);
    expect(again.body.error.message).toMatch(/already used/);

    const other = await startRun('failover');
    const fresh = await mailedLink(other);
    const [head, sig] = fresh.split('.');
    const tampered = `${head}.${sig!.startsWith('A') ? 'B' : 'A'}${sig!.slice(1)}`;
    const bad = await page.goto(`${t.url}${tampered}`);
    expect(bad!.status()).toBe(401);
    expect(await page.textContent('main p')).toBe('this link is not valid (its signature does not match)');
    // A token naming another run, signed by nobody: the same refusal.
    const forged = `${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(head!.split('token=')[1]!, 'base64url').toString()), run: run })).toString('base64url')}.${sig}`;
    expect((await http(`${t.url}/v1/runbooks/approval-links?token=${forged}`, { method: 'POST', json: { decision: 'approve' } })).status).toBe(401);
    // No decision: a 400 naming the field; the link stays usable.
    const none = await http(`${t.url}${fresh}`, { method: 'POST', json: {} });
    expect(none.status).toBe(400);
    expect(none.body.error.details[0]).toMatchObject({ path: 'decision', message: 'approve or reject' });
    // Rejected through the JSON form of the same link.
    const rejected = await http(`${t.url}${fresh}`, { method: 'POST', json: { decision: 'reject' } });
    expect(rejected.status, rejected.text).toBe(200);
    expect(rejected.body).toEqual({ run: { id: other, status: 'failed', current_step: 'confirm' }, decision: 'reject', by: `user:${dana.email}` });

    const quick = await startRun('quick-approval');
    const expiring = await mailedLink(quick);
    await waitFor('the step to time out', async () => ((await runOf(quick)).status === 'failed' ? true : undefined));
    const expired = await page.goto(`${t.url}${expiring}`);
    expect(expired!.status()).toBe(410);
    expect(await page.textContent('main p')).toBe('this link has expired; see the run in Keel’s console or with `keel runbooks show`');
    expect(await seriousViolations(page)).toEqual([]);
    await ctx.close();
  });
});

describe('the console’s runbook pages', () => {
  let page: Page;

  beforeAll(async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await ctx.newPage();
    await signIn(page, t.url, dana.email, dana.password);
  });

  it('lists runs and approves a waiting step; the step’s output shows as it is recorded, secret redacted', async () => {
    const run = await startRun('failover');
    await page.click('nav a:text-is("Runbooks")');
    const row = page.locator(`tr[data-run="${run}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('needs approval');
    await row.locator('a').click();
    await page.waitForSelector('[data-testid="approval"] h2:text-is("Step confirm waits for an approval")');
    expect(await page.textContent('[data-testid="approval"]')).toContain(`May approve: ${dana.email}`);
    await page.click('[data-testid="approval"] button:text-is("Approve")');
    // Refreshed by polling: the switch step runs after the approval, and its output appears.
    await page.waitForSelector('li[data-step="switch"] .badge:text-is("succeeded")');
    const output = (await page.textContent('li[data-step="switch"] pre.output'))!;
    expect(output).toContain('"switched": true');
    expect(await page.textContent('main')).not.toContain(SECRET);
    await page.waitForSelector('[data-testid="run-facts"] .badge:text-is("succeeded")');
    expect(await page.locator('[data-testid="journal"] td:text-is("approval.approved")').count()).toBe(1);
    expect((await runOf(run)).steps[0].output).toEqual({ approved_by: `user:${dana.email}` });
  });

  it('shows a running command step’s output so far under it, marked live, then its recorded output when it ends', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-console-live-'));
    const gate = join(dir, 'gate');
    const r = await api('/v1/runbooks/reindex/runs', { json: { params: { gate } } });
    expect(r.status, r.text).toBe(201);
    await page.goto(`${t.url}/runbooks/runs/${r.body.id}`);
    const step = page.locator('li[data-step="rebuild"]');
    // The command waits for the gate after its first line: the line shows while the step runs.
    await page.waitForSelector('li[data-step="rebuild"] [data-testid="live-output"] pre:has-text("40% done")');
    expect(await step.locator('> .badge').textContent()).toBe('running');
    expect(await step.locator('[data-testid="live-output"] .badge').textContent()).toBe('live');
    expect(await step.locator('[data-testid="live-output"] p').textContent()).toMatch(/^live output so far · updated /);
    expect(await step.locator('[data-testid="live-output"] pre').textContent()).toBe('reindexing: 40% done, token [redacted]\n');
    expect(await page.textContent('main')).not.toContain('100% done');
    expect(await page.textContent('main')).not.toContain(SECRET);
    expect(await step.locator('pre[aria-label="Output of rebuild"]').count()).toBe(0);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'run-live-output');

    writeFileSync(gate, '');
    await page.waitForSelector('li[data-step="rebuild"] > .badge:text-is("succeeded")');
    expect(await step.locator('[data-testid="live-output"]').count()).toBe(0);
    expect(JSON.parse((await step.locator('pre[aria-label="Output of rebuild"]').textContent())!)).toEqual({
      exit_code: 0,
      stdout: 'reindexing: 40% done, token [redacted]\nreindexing: 100% done\n',
      stderr: '',
    });
    rmSync(dir, { recursive: true, force: true });
  });

  it('offers retry, skip and abort on a step whose outcome is unknown; skipping ends the run', async () => {
    const run = await startRun('purge-cache');
    await page.goto(`${t.url}/runbooks/runs/${run}`);
    await page.waitForSelector('[data-testid="unknown"] h2:text-is("Step purge: outcome unknown")');
    for (const label of ['Retry the step', 'Skip the step', 'Abort the run']) expect(await page.locator(`[data-testid="unknown"] button:text-is("${label}")`).count(), label).toBe(1);
    await page.click('button:text-is("Skip the step")');
    await page.waitForSelector('li[data-step="purge"] .badge:text-is("skipped")');
    expect(await runOf(run)).toMatchObject({ status: 'succeeded', steps: [{ name: 'purge', status: 'skipped' }] });
    const journal = (await runOf(run)).journal as { event: string; actor: string }[];
    expect(journal.find((j) => j.event === 'step.skip')?.actor).toBe(`user:${dana.email}`);
  });

  it('shows a viewer the waiting approval without buttons; the API refuses the viewer too', async () => {
    const run = await startRun('failover');
    const ctx = await browser.newContext({ viewport: { width: 375, height: 800 } });
    const p = await ctx.newPage();
    await signIn(p, t.url, vic.email, vic.password);
    await p.goto(`${t.url}/runbooks/runs/${run}`);
    await p.waitForSelector('[data-testid="approval"] p:text-is("You may not decide this approval.")');
    for (const label of ['Approve', 'Reject', 'Abort']) expect(await p.locator(`button:text-is("${label}")`).count(), label).toBe(0);
    const status = await p.evaluate(`(async () => {
      const csrf = document.cookie.split('; ').find((c) => c.startsWith('keel_csrf=')).split('=')[1];
      const r = await fetch('/v1/runbooks/runs/${run}/approve', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: '{}' });
      return r.status;
    })()`);
    expect(status).toBe(403);
    expect((await runOf(run)).status).toBe('waiting');
    // Without runbooks:run, the Runbooks page lists runs but offers no form to start one.
    await p.goto(`${t.url}/runbooks`);
    await p.waitForSelector(`tr[data-run="${run}"]`);
    expect(await p.locator('form[aria-label="Run a runbook"]').count()).toBe(0);
    expect(await p.locator('h2:text-is("Run a runbook")').count()).toBe(0);
    await ctx.close();
  });

  it('starts a run from the Runbooks page: typed inputs, a dry run, the API’s message next to its field, then the run', async () => {
    const drains = async () => ((await api('/v1/runbooks/runs?runbook=drain-region')).body.runs as unknown[]).length;
    await page.goto(`${t.url}/runbooks`);
    await page.waitForSelector('form[aria-label="Run a runbook"]');
    await page.selectOption('select[name="runbook"]', 'drain-region');
    await page.waitForSelector('p.muted:text-is("Shift traffic away from a region")');
    // One input per declared parameter, defaults filled in; the enum and the bool are choices.
    expect(await page.locator('form[aria-label="Run a runbook"] label').allTextContents()).toEqual([
      'Runbook',
      'region (required)',
      'percent — share of traffic to move',
      'reason (required)',
      'announce',
      'Incident (number or id, optional)',
    ]);
    expect(await page.inputValue('input[name="params.percent"]')).toBe('50');
    expect(await page.locator('select[name="params.region"] option').allTextContents()).toEqual(['choose…', 'eu-west', 'us-east']);
    expect(await page.inputValue('select[name="params.announce"]')).toBe('false');
    await page.selectOption('select[name="params.region"]', 'eu-west');
    await page.fill('input[name="params.percent"]', '25');
    await page.fill('input[name="params.reason"]', 'sale traffic');

    // The dry run: each step resolved, nothing run.
    await page.click('button:text-is("Dry run")');
    await page.waitForSelector('[data-testid="dry-run"] li[data-step="check"]');
    expect(await page.textContent('[data-testid="dry-run"] h3')).toBe('Dry run of drain-region (version 1): nothing was run');
    expect(await page.textContent('[data-testid="dry-run"] p.muted')).toBe('Parameters: region = eu-west, percent = 25, reason = sale traffic, announce = false');
    const shift = JSON.parse((await page.textContent('[data-testid="dry-run"] li[data-step="shift"] pre'))!);
    expect(shift).toEqual({ method: 'POST', url: `${receiverUrl}/shift?region=eu-west&percent=25`, headers: {}, body: 'sale traffic' });
    expect(await page.textContent('[data-testid="dry-run"] li[data-step="check"] pre')).toContain(`"url": "${receiverUrl}/status?region=eu-west&announce=false"`);
    expect(await drains()).toBe(0);

    // A number that is not one: the API's message under the field, everything typed kept.
    await page.fill('input[name="params.percent"]', 'lots');
    await page.fill('input[name="incident"]', '4242');
    await page.click('form[aria-label="Run a runbook"] button:text-is("Run")');
    await page.waitForSelector('#f-run-params\\.percent-err');
    expect(await page.textContent('#f-run-params\\.percent-err')).toBe('a number, not "lots"');
    expect(await page.getAttribute('input[name="params.percent"]', 'aria-invalid')).toBe('true');
    expect(await page.locator('[data-testid="dry-run"]').count()).toBe(0);
    expect([
      await page.inputValue('select[name="params.region"]'),
      await page.inputValue('input[name="params.percent"]'),
      await page.inputValue('input[name="params.reason"]'),
      await page.inputValue('input[name="incident"]'),
    ]).toEqual(['eu-west', 'lots', 'sale traffic', '4242']);
    // Then an incident that does not exist: its message next to the incident field.
    await page.fill('input[name="params.percent"]', '30');
    await page.click('form[aria-label="Run a runbook"] button:text-is("Run")');
    await page.waitForSelector('#f-run-incident-err');
    expect(await page.textContent('#f-run-incident-err')).toBe('incident 4242 not found');
    expect(await page.locator('#f-run-params\\.percent-err').count()).toBe(0);
    expect(await drains()).toBe(0);

    // Run for real: the run's page, its steps running and succeeding.
    await page.fill('input[name="incident"]', '');
    await page.click('form[aria-label="Run a runbook"] button:text-is("Run")');
    await page.waitForURL(/\/runbooks\/runs\/[^/]+$/);
    await page.waitForSelector('h1:text-is("Run of drain-region")');
    await page.waitForSelector('[data-testid="run-facts"] .badge:text-is("succeeded")');
    expect(await page.locator('ol.steps li > strong').allTextContents()).toEqual(['shift', 'check']);
    const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    expect(await page.textContent('[data-testid="run-facts"]')).toContain(`manual by user:${dana.email}`);
    expect(await runOf(id)).toMatchObject({
      runbook: 'drain-region',
      trigger: 'manual',
      status: 'succeeded',
      params: { region: 'eu-west', percent: 30, reason: 'sale traffic', announce: false },
      steps: [
        { name: 'shift', status: 'succeeded' },
        { name: 'check', status: 'succeeded' },
      ],
    });
    expect(await drains()).toBe(1);
  });

  it('has no serious accessibility violations with the form filled and a dry run shown, and fits 375 px', async () => {
    const problems: string[] = [];
    for (const width of [1280, 375]) {
      await page.setViewportSize({ width, height: 900 });
      await page.goto(`${t.url}/runbooks`);
      await page.waitForSelector('form[aria-label="Run a runbook"]');
      await page.selectOption('select[name="runbook"]', 'drain-region');
      await page.selectOption('select[name="params.region"]', 'us-east');
      await page.fill('input[name="params.reason"]', 'x'.repeat(120));
      await page.click('button:text-is("Dry run")');
      await page.waitForSelector('[data-testid="dry-run"] li[data-step="check"]');
      await page.waitForSelector('main [aria-live=polite].muted', { state: 'detached' });
      problems.push(...(await seriousViolations(page)).map((v) => `run-form@${width}: ${v}`));
      const pageWidth = (await page.evaluate('document.documentElement.scrollWidth')) as number;
      if (pageWidth > width) problems.push(`run-form@${width}: the page is ${pageWidth} px wide`);
      await screenshot(page, `run-form-${width}`);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
    expect(problems).toEqual([]);
  });

  it('has no serious accessibility violations (axe-core), at 1280 and 375 px', async () => {
    const waiting = (await api('/v1/runbooks/runs?status=waiting')).body.runs[0].id as string;
    const problems: string[] = [];
    for (const width of [1280, 375]) {
      await page.setViewportSize({ width, height: 900 });
      for (const [name, path] of [
        ['runbooks', '/runbooks'],
        ['run', `/runbooks/runs/${waiting}`],
      ] as const) {
        await page.goto(`${t.url}${path}`);
        await page.waitForSelector('main h1');
        await page.waitForSelector('main [aria-live=polite].muted', { state: 'detached' });
        problems.push(...(await seriousViolations(page)).map((v) => `${name}@${width}: ${v}`));
        await screenshot(page, `${name}-${width}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('rejects a waiting step with a reason: the run fails, the journal keeps who and why', async () => {
    const run = await startRun('failover');
    await page.goto(`${t.url}/runbooks/runs/${run}`);
    await page.waitForSelector('[data-testid="approval"] button:text-is("Reject")');
    await page.fill('#reject-reason', 'not during the sale');
    await page.click('[data-testid="approval"] button:text-is("Reject")');
    await page.waitForSelector('[data-testid="run-facts"] .badge:text-is("failed")');
    expect(await page.locator('[data-testid="approval"]').count()).toBe(0);
    const rejected = ((await runOf(run)).journal as { event: string; actor: string; data: { reason?: string } }[]).find((j) => j.event === 'approval.rejected');
    expect(rejected).toMatchObject({ actor: `user:${dana.email}`, data: { reason: 'not during the sale' } });
  });
});
