/**
 * Runbook runs: the list (newest first) and one run with each step's state and output (secrets are
 * redacted by the API), the journal, and what a person may do: approve or reject a waiting
 * approval step, decide about a step whose outcome is unknown (retry, skip, abort), abort a run.
 * A run's page refreshes every two seconds, so a step's output shows as soon as it is recorded, and
 * a running command step's output so far shows under it, marked live.
 * People who may run runbooks start one from the list page (runbook-form.tsx).
 */
import { useState } from 'preact/hooks';
import { get, post, qs } from '../api';
import { href, setQuery, useLocation } from '../router';
import { Action, Badge, ErrorBox, Loading, Page, ago, can, useData, useSession, when } from '../ui';
import type { Session } from '../api';
import { RunForm } from './runbook-form';

/** Live step output: how often an open run is read again. */
const RUN_POLL_MS = 2000;
const STATUSES = ['running', 'waiting', 'succeeded', 'failed', 'aborted'];
const ROLE_RANK = ['viewer', 'responder', 'editor', 'admin'];

const tone = (status: string) => (status === 'succeeded' ? 'ok' : status === 'failed' || status === 'unknown' ? 'bad' : status === 'waiting' || status === 'running' ? 'pending' : 'neutral');

export function Runs() {
  const s = useSession();
  const { query } = useLocation();
  const status = query.get('status') ?? '';
  const list = useData(() => get(`/v1/runbooks/runs${qs({ status, limit: 100 })}`), [status]);
  return (
    <Page title="Runbook runs">
      {can(s, 'runbooks:run') ? <RunForm /> : null}
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <label>
          Status{' '}
          <select value={status} onChange={(e) => setQuery({ status: (e.target as HTMLSelectElement).value })}>
            <option value="">any</option>
            {STATUSES.map((v) => (
              <option value={v}>{v}</option>
            ))}
          </select>
        </label>
      </form>
      <ErrorBox error={list.error} />
      {!list.data ? (
        <Loading what="runs" />
      ) : list.data.runs.length === 0 ? (
        <p class="muted">No runs match.</p>
      ) : (
        <div class="scroll" tabIndex={0} role="region" aria-label="Runs">
          <table>
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Runbook</th>
                <th scope="col">Status</th>
                <th scope="col">Step</th>
                <th scope="col" class="hide-narrow">
                  Trigger
                </th>
                <th scope="col">Started</th>
              </tr>
            </thead>
            <tbody>
              {list.data.runs.map((r: any) => (
                <tr data-run={r.id}>
                  <td>
                    <a href={href(`/runbooks/runs/${encodeURIComponent(r.id)}`)}>{r.id}</a>
                  </td>
                  <td>{r.runbook}</td>
                  <td>
                    <Badge text={r.status} tone={tone(r.status)} />
                    {r.approval ? (
                      <>
                        {' '}
                        <Badge text="needs approval" tone="pending" />
                      </>
                    ) : null}
                    {r.phase === 'unknown' ? (
                      <>
                        {' '}
                        <Badge text="outcome unknown" tone="bad" />
                      </>
                    ) : null}
                  </td>
                  <td>{r.current_step ?? '—'}</td>
                  <td class="hide-narrow">
                    {r.trigger} · {r.actor}
                  </td>
                  <td>{ago(r.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}

/** May this person decide the approval (named, or holding the role in this team)? The API checks again. */
function mayApprove(s: Session, approval: { users: string[]; role: string | null }): boolean {
  if (!can(s, 'runbooks:approve')) return false;
  const email = s.user?.email?.toLowerCase();
  if (email && approval.users.some((u) => u.toLowerCase() === email)) return true;
  return approval.role !== null && s.role !== undefined && ROLE_RANK.indexOf(s.role) >= ROLE_RANK.indexOf(approval.role);
}

/**
 * What a running command step has printed so far (the API records it at most once a second; this
 * page reads it every two seconds). `stopped`: Keel stopped while the step ran, so it is all there is.
 */
function LiveOutput({ step, live, stopped }: { step: string; live: { stdout: string; stderr: string; updated_at: string }; stopped: boolean }) {
  const text = [live.stdout, live.stderr ? `--- stderr ---\n${live.stderr}` : ''].filter(Boolean).join(live.stdout.endsWith('\n') ? '' : '\n');
  return (
    <div class="live-output" data-testid="live-output">
      <p class="muted">
        <Badge text={stopped ? 'partial' : 'live'} tone="pending" /> {stopped ? 'printed before Keel stopped' : 'output so far'} · updated {when(live.updated_at)}
      </p>
      <pre class="output" tabIndex={0} aria-label={`Output so far of ${step}`}>
        {text || '(nothing printed yet)'}
      </pre>
    </div>
  );
}

export function RunDetail({ id }: { id: string }) {
  const s = useSession();
  const base = `/v1/runbooks/runs/${encodeURIComponent(id)}`;
  const run = useData(() => get(base), [id], RUN_POLL_MS);
  const [reason, setReason] = useState('');
  const r = run.data;
  if (!r) {
    return (
      <Page title={`Run ${id}`}>
        <ErrorBox error={run.error} />
        {run.error ? null : <Loading what="the run" />}
      </Page>
    );
  }
  const active = r.status === 'running' || r.status === 'waiting';
  const decide = (decision: string) => () => post(`${base}/decide`, { decision });
  return (
    <Page title={`Run of ${r.runbook}`}>
      <ErrorBox error={run.error} />
      <p class="facts" data-testid="run-facts">
        <Badge text={r.status} tone={tone(r.status)} /> run <code>{r.id}</code> · {r.trigger} by {r.actor} · started {ago(r.created_at)}
        {r.finished_at ? <> · ended {ago(r.finished_at)}</> : null}
        {r.outcome ? (
          <>
            {' '}
            · outcome <strong>{r.outcome}</strong>
          </>
        ) : null}
        {r.incident ? (
          <>
            {' '}
            · <a href={href(`/incidents/${encodeURIComponent(r.incident.id)}`)}>incident #{r.incident.number}</a>
          </>
        ) : null}
      </p>
      {r.error ? <p class="error">{r.error}</p> : null}
      {r.approval ? (
        <section class="card" aria-labelledby="approval-h" data-testid="approval">
          <h2 id="approval-h">Step {r.approval.step} waits for an approval</h2>
          {r.approval.message ? <p>{r.approval.message}</p> : null}
          <p class="muted">
            May approve: {[...r.approval.users, ...(r.approval.role ? [`anyone with the ${r.approval.role} role`] : [])].join(', ')} · times out {ago(r.approval.expires_at)}
          </p>
          {mayApprove(s, r.approval) ? (
            <div class="actions-row">
              <Action label="Approve" kind="primary" run={() => post(`${base}/approve`, { approve: true })} onDone={run.reload} />
              <label>
                Reason <input id="reject-reason" value={reason} size={24} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
              </label>
              <Action label="Reject" kind="danger" run={() => post(`${base}/approve`, { approve: false, ...(reason ? { reason } : {}) })} onDone={run.reload} />
            </div>
          ) : (
            <p class="muted">You may not decide this approval.</p>
          )}
        </section>
      ) : null}
      {r.phase === 'unknown' ? (
        <section class="card" aria-labelledby="unknown-h" data-testid="unknown">
          <h2 id="unknown-h">Step {r.current_step}: outcome unknown</h2>
          <p>The step may or may not have had its effect, and it is not safe to repeat: decide what the run does next.</p>
          {can(s, 'runbooks:approve') ? (
            <div class="actions-row">
              <Action label="Retry the step" run={decide('retry')} onDone={run.reload} />
              <Action label="Skip the step" run={decide('skip')} onDone={run.reload} />
              <Action label="Abort the run" kind="danger" run={decide('abort')} onDone={run.reload} />
            </div>
          ) : (
            <p class="muted">You may not decide this.</p>
          )}
        </section>
      ) : null}
      {active && r.phase !== 'unknown' && can(s, 'runbooks:run') ? (
        <div class="actions-row">
          <Action label="Abort" kind="danger" run={() => post(`${base}/abort`, {})} onDone={run.reload} />
        </div>
      ) : null}
      <h2>Steps</h2>
      <ol class="steps" aria-live="polite">
        {r.steps.map((st: any) => (
          <li data-step={st.name}>
            <strong>{st.name}</strong> <Badge text={st.status} tone={tone(st.status)} />
            {st.attempts > 1 ? <span class="muted"> · {st.attempts} attempts</span> : null}
            {st.started_at ? <span class="muted"> · started {when(st.started_at)}</span> : null}
            {st.finished_at ? <span class="muted"> · finished {when(st.finished_at)}</span> : null}
            {st.error ? <p class="error">{st.error}</p> : null}
            {st.output !== undefined ? (
              <pre class="output" tabIndex={0} aria-label={`Output of ${st.name}`}>
                {JSON.stringify(st.output, null, 2)}
              </pre>
            ) : null}
            {st.live_output ? <LiveOutput step={st.name} live={st.live_output} stopped={st.status !== 'running'} /> : null}
          </li>
        ))}
      </ol>
      {Object.keys(r.params).length ? (
        <>
          <h2>Parameters</h2>
          <ul class="plain">
            {Object.entries(r.params).map(([k, v]) => (
              <li>
                <code>{k}</code> = {String(v)}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      <h2>Journal</h2>
      <div class="scroll" tabIndex={0} role="region" aria-label="Journal">
        <table data-testid="journal">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">When</th>
              <th scope="col">Event</th>
              <th scope="col">Step</th>
              <th scope="col">Who</th>
            </tr>
          </thead>
          <tbody>
            {r.journal.map((j: any) => (
              <tr>
                <td>{j.seq}</td>
                <td>
                  <time dateTime={j.at}>{when(j.at)}</time>
                </td>
                <td>{j.event}</td>
                <td>{j.step ?? '—'}</td>
                <td>{j.actor}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Page>
  );
}
