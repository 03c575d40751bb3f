/** RunService on both stores: a run's state, journal and audit entries commit together; concurrent people cannot both move a run. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/audit-log.js';
import { Bus } from '../../src/core/bus.js';
import { FakeClock } from '../../src/core/clock.js';
import { IncidentService } from '../../src/paging/incidents/incident-service.js';
import { runbookKind } from '../../src/runbooks/kind.js';
import { runView } from '../../src/runbooks/routes.js';
import { RunService } from '../../src/runbooks/runs.js';
import { TriggerService } from '../../src/runbooks/trigger-service.js';
import { AlertService } from '../../src/alerting/alert-service.js';
import { AfterCommit } from '../../src/core/after-commit.js';
import type { Principal } from '../../src/auth/principal.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

const admin = {
  kind: 'key',
  tenant: 'default',
  actor: 'key:keel_adm',
  permissions: new Set(['users:manage', 'incidents:respond', 'definitions:write']),
  superuser: true,
  keyId: 'k',
  keyPrefix: 'keel_adm',
  scopes: ['admin'],
} as unknown as Principal;

for (const engine of ['sqlite', 'postgres'] as const) {
  describe(`runbook runs on ${engine}`, () => {
    let s: TestStore;
    let runs: RunService;
    const clock = new FakeClock('2026-06-01T10:00:00Z');
    beforeAll(async () => {
      s = await openTestStore(engine);
      const parsed = runbookKind().parse({
        apiVersion: 'keel/v1',
        kind: 'Runbook',
        metadata: { name: 'gate' },
        spec: {
          parameters: { n: { type: 'number', default: 1 } },
          steps: [
            { name: 'ok', approval: { role: 'admin' }, timeout: '1h' },
            { name: 'w', wait: { duration: '1m' } },
          ],
        },
      });
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
      await s.store.db
        .insertInto('definitions')
        .values({ tenant_id: 'default', kind: 'Runbook', name: 'gate', api_version: 'keel/v1', spec_json: JSON.stringify(parsed.spec), version: 3, updated_at: clock.now(), updated_by: 'test' })
        .execute();
      runs = new RunService({ store: s.store, clock, audit: new AuditLog(s.store, clock), incidents: new IncidentService(s.store, clock, new Bus()) });
    });
    afterAll(async () => {
      await s?.close();
    });

    it('creates a run with its journal and audit entries, and lets exactly one of two concurrent approvals through', async () => {
      const run = await runs.start({ tenant: 'default', runbook: 'gate', params: {}, actor: 'key:keel_adm', trigger: 'manual' });
      expect(run).toMatchObject({ runbook: 'gate', runbookVersion: 3, params: { n: 1 }, state: { status: 'waiting', phase: 'approval' } });
      const results = await Promise.allSettled([runs.approve('default', run.id, admin, true), runs.approve('default', run.id, admin, true)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(refused.reason.message).toContain('is not waiting for an approval');
      const after = await runs.find('default', run.id);
      expect(after.state).toMatchObject({ status: 'running', phase: 'waiting', step: 1 });
      expect(after.version).toBe(2);
      const journal = await runs.journal('default', run.id);
      expect(journal.map((j) => j.event)).toEqual(['run.created', 'approval.requested', 'approval.approved', 'step.succeeded', 'step.waiting']);
      const audit = await s.store.db.selectFrom('audit_log').select(['action', 'target']).where('target', 'like', `runbook-run/${run.id}%`).orderBy('seq').execute();
      expect(audit.map((a) => a.action)).toEqual(journal.map((j) => `runbooks.${j.event}`));
      // Due when the wait ends, not before.
      expect((await runs.due(clock.now() + 59_999, 10)).map((r) => r.id)).not.toContain(run.id);
      expect((await runs.due(clock.now() + 60_000, 10)).map((r) => r.id)).toContain(run.id);
    });

    it('starts the run queued for a concurrency key in the commit that ends the run ahead, oldest first', async () => {
      const ahead = await runs.start({ tenant: 'default', runbook: 'gate', params: {}, actor: 'alert:x', trigger: 'alert', concurrencyKey: 'eu' });
      clock.advance(1);
      const second = await runs.start({ tenant: 'default', runbook: 'gate', params: {}, actor: 'alert:y', trigger: 'alert', concurrencyKey: 'eu', queued: true });
      clock.advance(1);
      const third = await runs.start({ tenant: 'default', runbook: 'gate', params: {}, actor: 'alert:z', trigger: 'alert', concurrencyKey: 'eu', queued: true });
      expect(second.state).toMatchObject({ status: 'queued', dueAt: null });
      expect((await runs.list('default', { status: ['queued'] })).map((r) => r.id).sort()).toEqual([second.id, third.id].sort());
      // The key is busy: nothing for the trigger pass to start.
      expect(await runs.freeQueuedKeys()).toEqual([]);
      await runs.abort('default', ahead.id, 'key:keel_adm');
      expect((await runs.find('default', second.id)).state).toMatchObject({ status: 'waiting', phase: 'approval' });
      expect((await runs.find('default', third.id)).state.status).toBe('queued');
      expect((await runs.journal('default', second.id)).map((j) => j.event)).toEqual(['run.created', 'run.queued', 'run.dequeued', 'approval.requested']);
      // A queued run can be aborted; the next one then waits for the running one only.
      await runs.abort('default', third.id, 'key:keel_adm');
      expect((await runs.find('default', third.id)).state.status).toBe('aborted');
      await runs.abort('default', second.id, 'key:keel_adm');
      expect(await runs.freeQueuedKeys()).toEqual([]);
    });

    it('starts a run for an opened incident that matches, once, and deletes its note in the same commit', async () => {
      const parsed = runbookKind().parse({
        apiVersion: 'keel/v1',
        kind: 'Runbook',
        metadata: { name: 'on-sev1' },
        spec: { triggers: { incidents: [{ severities: ['SEV1'], when: 'incident.title != "drill"' }] }, steps: [{ name: 'w', wait: { duration: '1m' } }] },
      });
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
      await s.store.db
        .insertInto('definitions')
        .values({ tenant_id: 'default', kind: 'Runbook', name: 'on-sev1', api_version: 'keel/v1', spec_json: JSON.stringify(parsed.spec), version: 1, updated_at: clock.now(), updated_by: 'test' })
        .execute();
      const incidents = new IncidentService(s.store, clock, new Bus());
      incidents.addHooks({ opened: async (trx, i) => void (await trx.insertInto('runbook_incident_triggers').values({ incident_id: i.id, tenant_id: i.tenant, opened_at: i.openedAt }).execute()) });
      const open = (title: string, severity: 'SEV1' | 'SEV2') =>
        incidents.inTransaction((trx, fx) => incidents.open(trx, { tenant: 'default', title, service: null, severity, createdBy: 'user:a' }, fx ?? new AfterCommit()));
      const real = await open('db down', 'SEV1');
      await open('drill', 'SEV1');
      await open('minor', 'SEV2');
      const triggers = new TriggerService({ store: s.store, clock, runs, audit: new AuditLog(s.store, clock), alerts: new AlertService(s.store, clock, new Bus()) });
      expect(await triggers.incidentsStep()).toBe(3);
      expect(await triggers.incidentsStep()).toBe(0);
      const started = await runs.list('default', { runbook: 'on-sev1' });
      expect(started.map((r) => [r.trigger, r.actor, r.incidentId])).toEqual([['incident', `incident:${real.number}`, real.id]]);
    });

    it('keeps a running step’s live output on the run’s row only: shown while the step runs and after a stop, replaced by its recorded result, never journaled', async () => {
      const parsed = runbookKind().parse({ apiVersion: 'keel/v1', kind: 'Runbook', metadata: { name: 'cmd' }, spec: { steps: [{ name: 'talk', command: { argv: ['/bin/echo', 'x'] } }] } });
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
      await s.store.db
        .insertInto('definitions')
        .values({ tenant_id: 'default', kind: 'Runbook', name: 'cmd', api_version: 'keel/v1', spec_json: JSON.stringify(parsed.spec), version: 1, updated_at: clock.now(), updated_by: 'test' })
        .execute();
      const run = await runs.start({ tenant: 'default', runbook: 'cmd', params: {}, actor: 'key:keel_adm', trigger: 'manual' });
      const started = await runs.transition(run.id, async () => ({ type: 'start' }), { actor: 'system' });
      const at = clock.now();
      expect(await runs.recordLive(run.id, started.version, { step: 'talk', attempt: 1, stdout: 'one\n', stderr: '', at })).toBe(true);
      const live = await runs.find('default', run.id);
      expect(live.version).toBe(started.version);
      expect(runView(live).steps).toEqual([
        {
          name: 'talk',
          status: 'running',
          attempts: 1,
          started_at: new Date(at).toISOString(),
          finished_at: null,
          live_output: { stdout: 'one\n', stderr: '', updated_at: new Date(at).toISOString() },
        },
      ]);
      // Keel stopped while the step ran: the recovery keeps what it printed, shown beside the outcome-unknown step.
      await runs.transition(run.id, async () => ({ type: 'recover' }), { actor: 'system' });
      const stopped = runView(await runs.find('default', run.id));
      expect(stopped).toMatchObject({ status: 'waiting', phase: 'unknown', steps: [{ status: 'unknown', live_output: { stdout: 'one\n' } }] });
      // A report written for the version the start left lands no more once the run moved on.
      expect(await runs.recordLive(run.id, started.version, { step: 'talk', attempt: 1, stdout: 'one\ntwo\n', stderr: '', at })).toBe(false);
      await runs.decide('default', run.id, 'retry', 'user:a@example.com');
      expect(runView(await runs.find('default', run.id)).steps[0]).not.toHaveProperty('live_output');
      const again = await runs.transition(run.id, async () => ({ type: 'start' }), { actor: 'system' });
      expect(await runs.recordLive(run.id, again.version, { step: 'talk', attempt: 2, stdout: 'one\n', stderr: 'warn\n', at })).toBe(true);
      expect(runView(await runs.find('default', run.id)).steps[0]).toMatchObject({ attempts: 2, live_output: { stdout: 'one\n', stderr: 'warn\n' } });
      await runs.transition(run.id, async () => ({ type: 'finished', ok: true, output: { exit_code: 0, stdout: 'one\ntwo\n', stderr: 'warn\n' } }), { actor: 'system' });
      // A report still in flight when the result committed: refused, the result stays alone.
      expect(await runs.recordLive(run.id, again.version, { step: 'talk', attempt: 2, stdout: 'one\n', stderr: '', at })).toBe(false);
      const done = await runs.find('default', run.id);
      expect(done.live).toBeNull();
      expect(runView(done).steps).toEqual([
        {
          name: 'talk',
          status: 'succeeded',
          attempts: 2,
          started_at: new Date(at).toISOString(),
          finished_at: new Date(at).toISOString(),
          output: { exit_code: 0, stdout: 'one\ntwo\n', stderr: 'warn\n' },
        },
      ]);
      // Live reports wrote no journal row and no audit entry: only the recorded changes did.
      const journal = await runs.journal('default', run.id);
      expect(journal.map((j) => j.event)).toEqual(['run.created', 'step.started', 'step.outcome_unknown', 'step.retry', 'step.started', 'step.succeeded', 'run.succeeded']);
      const audit = await s.store.db.selectFrom('audit_log').select('action').where('target', 'like', `runbook-run/${run.id}%`).orderBy('seq').execute();
      expect(audit.map((a) => a.action)).toEqual(journal.map((j) => `runbooks.${j.event}`));
    });

    it('refuses an unknown runbook (404) and bad parameters (400, each named)', async () => {
      await expect(runs.start({ tenant: 'default', runbook: 'nope', params: {}, actor: 'a', trigger: 'manual' })).rejects.toMatchObject({ status: 404 });
      await expect(runs.start({ tenant: 'default', runbook: 'gate', params: { n: 'x', m: 1 }, actor: 'a', trigger: 'manual' })).rejects.toMatchObject({
        status: 400,
        details: [
          { path: 'params.m', message: 'unknown parameter (the runbook has n)' },
          { path: 'params.n', message: 'a number, not "x"' },
        ],
      });
    });
  });
}
