/**
 * The toil ledger: per runbook, how many runs people started by hand, how many steps waited for a
 * person (approvals, outcome-unknown decisions) and how long those waits took, ranked so the best
 * candidates for more automation come first. Also the compliance report's section on automated
 * changes and their approvals (SOC 2 change evidence).
 */
import type { EvidenceScope, EvidenceSection, EvidenceSource } from '../compliance/evidence.js';
import type { Store } from '../store/store.js';
import { toRun, type RunRecord } from './runs.js';

export interface ToilRow {
  runbook: string;
  team: string;
  runs: number;
  manual_runs: number;
  automatic_runs: number;
  succeeded: number;
  failed: number;
  hand_approved_steps: number;
  person_decisions: number;
  waiting_seconds: number;
  /** Higher: more to gain from automating further (manual runs and human waits). */
  score: number;
}

/** Pure: the ledger of a list of runs and their journal events. */
export function toilOf(runs: RunRecord[], decisions: Map<string, number>): ToilRow[] {
  const by = new Map<string, ToilRow>();
  for (const r of runs) {
    const row = by.get(r.runbook) ?? {
      runbook: r.runbook,
      team: r.tenant,
      runs: 0,
      manual_runs: 0,
      automatic_runs: 0,
      succeeded: 0,
      failed: 0,
      hand_approved_steps: 0,
      person_decisions: 0,
      waiting_seconds: 0,
      score: 0,
    };
    row.runs += 1;
    if (r.trigger === 'manual') row.manual_runs += 1;
    else row.automatic_runs += 1;
    if (r.state.status === 'succeeded') row.succeeded += 1;
    if (r.state.status === 'failed' || r.state.status === 'aborted') row.failed += 1;
    r.spec.steps.forEach((s, i) => {
      const rec = r.state.steps[i];
      if (!s.approval || !rec?.startedAt) return;
      if (rec.status === 'succeeded') row.hand_approved_steps += 1;
      const end = rec.finishedAt ?? r.updatedAt;
      row.waiting_seconds += Math.max(0, end - rec.startedAt) / 1000;
    });
    row.person_decisions += decisions.get(r.id) ?? 0;
    by.set(r.runbook, row);
  }
  const rows = [...by.values()].map((r) => ({
    ...r,
    waiting_seconds: Math.round(r.waiting_seconds),
    score: r.manual_runs + r.hand_approved_steps + r.person_decisions + Math.round(r.waiting_seconds / 3600),
  }));
  return rows.sort((a, b) => b.score - a.score || a.runbook.localeCompare(b.runbook));
}

export class ToilService {
  constructor(private readonly store: Store) {}

  private async runs(tenant: string | undefined, from: number, to: number): Promise<{ runs: RunRecord[]; decisions: Map<string, number>; approvals: number }> {
    let q = this.store.db.selectFrom('runbook_runs').selectAll().where('created_at', '>=', from).where('created_at', '<', to);
    if (tenant) q = q.where('tenant_id', '=', tenant);
    const runs = (await q.execute()).map(toRun);
    let j = this.store.db
      .selectFrom('runbook_journal')
      .select(['run_id', 'event'])
      .where('event', 'in', ['step.retry', 'step.skip', 'step.abort', 'approval.approved', 'approval.rejected'])
      .where('at', '>=', from);
    if (tenant) j = j.where('tenant_id', '=', tenant);
    const decisions = new Map<string, number>();
    let approvals = 0;
    for (const e of await j.execute()) {
      if (e.event.startsWith('approval.')) approvals += 1;
      else decisions.set(e.run_id, (decisions.get(e.run_id) ?? 0) + 1);
    }
    return { runs, decisions, approvals };
  }

  async ledger(tenant: string, from: number, to: number) {
    const { runs, decisions } = await this.runs(tenant, from, to);
    const rows = toilOf(runs, decisions);
    return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), runbooks: rows };
  }

  /** The compliance report's section: automated changes and who approved them. */
  evidence(): EvidenceSource {
    return {
      collect: async (scope: EvidenceScope): Promise<EvidenceSection> => {
        const { runs, approvals } = await this.runs(scope.tenant, scope.from, scope.to);
        const rows = toilOf(runs, new Map()).map((r) => ({
          runbook: r.runbook,
          team: r.team,
          runs: r.runs,
          automatic: r.automatic_runs,
          manual: r.manual_runs,
          succeeded: r.succeeded,
          failed: r.failed,
          approved_steps: r.hand_approved_steps,
        }));
        return {
          summary: `${runs.length} runbook runs (${runs.filter((r) => r.trigger !== 'manual').length} automatic), ${approvals} approval decisions recorded in the audit chain (runbooks.*)`,
          rows,
        };
      },
    };
  }
}
