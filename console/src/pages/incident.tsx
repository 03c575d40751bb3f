/**
 * One incident: state and actions (acknowledge, mitigate, resolve, close), severity, roles, notes,
 * timeline, linked alerts, who was paged and how each delivery went, the error budget it cost, and
 * the postmortem editor with a Markdown preview and the action items. Refreshed by polling.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, get, patch, post, put, del } from '../api';
import { renderMarkdown } from '../markdown';
import { href } from '../router';
import { Action, Badge, ErrorBox, Field, Loading, Page, ago, can, useData, useSession, when } from '../ui';

const SEVERITIES = ['SEV1', 'SEV2', 'SEV3', 'SEV4'];

export function IncidentDetail({ id }: { id: string }) {
  const s = useSession();
  const respond = can(s, 'incidents:respond');
  const base = `/v1/incidents/${encodeURIComponent(id)}`;
  const inc = useData(() => get(base), [id]);
  // A refused severity change is shown beside the control, never swallowed.
  const [severityError, setSeverityError] = useState<ApiError | undefined>(undefined);
  const timeline = useData(() => get(`${base}/timeline`), [id]);
  const notes = useData(() => get(`${base}/notifications`), [id]);
  const impact = useData(() => get(`${base}/slo-impact`), [id], 30_000);
  // Names of the people paged (deliveries name them by user id).
  const people = useData(() => get('/v1/paging/people').catch(() => ({ people: [] })), [], null);
  const nameOf = (userId: string | null) => (people.data?.people as any[] | undefined)?.find((p) => p.user_id === userId)?.name ?? null;
  const reload = async () => {
    await Promise.all([inc.reload(), timeline.reload(), notes.reload()]);
  };
  const i = inc.data;
  if (!i) {
    return (
      <Page title={`Incident ${id}`}>
        <ErrorBox error={inc.error} />
        {inc.error ? null : <Loading what="the incident" />}
      </Page>
    );
  }
  const act = (what: string) => () => post(`${base}/${what}`, {});
  return (
    <Page title={`#${i.number} ${i.title}`}>
      <ErrorBox error={inc.error} />
      <p class="facts">
        <Badge text={i.state} /> <Badge text={i.severity} />{' '}
        {i.service ? (
          <>
            service <strong>{i.service}</strong> ·{' '}
          </>
        ) : null}
        opened {ago(i.opened_at)}
        {i.acknowledged_at ? <> · acknowledged {ago(i.acknowledged_at)}</> : null}
        {i.resolved_at ? <> · resolved {ago(i.resolved_at)}</> : null}
      </p>
      {i.paged_nobody ? (
        <p class="error" role="alert">
          This incident paged nobody: {i.paged_nobody.reason}
        </p>
      ) : null}
      {i.escalation ? (
        <p data-testid="escalation">
          Escalation <strong>{i.escalation.policy}</strong>: {i.escalation.status}
          {i.escalation.next ? (
            <>
              {' '}
              · next step {i.escalation.next.step + 1} {ago(i.escalation.next.at)}
            </>
          ) : (
            <> · no further step scheduled</>
          )}
        </p>
      ) : null}
      {respond ? (
        <div class="actions-row" aria-label="Respond">
          {i.state === 'triggered' ? <Action label="Acknowledge" kind="primary" run={act('ack')} onDone={reload} /> : null}
          {i.state === 'triggered' || i.state === 'acknowledged' ? <Action label="Mitigate" run={act('mitigate')} onDone={reload} /> : null}
          {i.state !== 'resolved' && i.state !== 'closed' ? <Action label="Resolve" run={act('resolve')} onDone={reload} /> : null}
          {i.state === 'resolved' ? <Action label="Close" run={act('close')} onDone={reload} /> : null}
          <label>
            Severity{' '}
            <select
              value={i.severity}
              onChange={async (e) => {
                try {
                  await patch(base, { severity: (e.target as HTMLSelectElement).value });
                  setSeverityError(undefined);
                } catch (err) {
                  setSeverityError(err instanceof ApiError ? err : new ApiError(0, 'network', String(err)));
                }
                await reload();
              }}
            >
              {SEVERITIES.map((v) => (
                <option value={v}>{v}</option>
              ))}
            </select>
          </label>
          <ErrorBox error={severityError} />
        </div>
      ) : null}
      <div class="grid">
        <article class="card">
          <h2>Roles</h2>
          <Roles i={i} base={base} respond={respond} onDone={reload} />
        </article>
        <article class="card">
          <h2>Error budget impact</h2>
          <ErrorBox error={impact.error} />
          {!impact.data ? (
            <Loading what="impact" />
          ) : impact.data.impact === null || impact.data.impact.length === 0 ? (
            <p class="muted">No SLO of this service is affected.</p>
          ) : (
            <ul class="plain">
              {impact.data.impact.map((x: any) => (
                <li>
                  <a href={href(`/slos/${encodeURIComponent(x.slo)}`)}>{x.slo}</a>: <strong>{(x.budget_consumed * 100).toFixed(1)}%</strong> of the error budget, {x.bad_events} bad events since{' '}
                  {when(x.from)}
                </li>
              ))}
            </ul>
          )}
        </article>
      </div>
      <h2>Alerts</h2>
      {i.alerts.length === 0 ? (
        <p class="muted">No alerts (declared by hand).</p>
      ) : (
        <ul class="plain">
          {i.alerts.map((a: any) => (
            <li>
              <Badge text={a.status} /> <Badge text={a.severity} /> {a.summary}{' '}
              <span class="muted">
                ({a.source}, ×{a.count}, last {ago(a.last_seen)})
              </span>
            </li>
          ))}
        </ul>
      )}
      <h2>Who was paged</h2>
      <ErrorBox error={notes.error} />
      {!notes.data ? (
        <Loading what="notifications" />
      ) : notes.data.notifications.length === 0 ? (
        <p class="muted">Nobody has been paged.</p>
      ) : (
        <div class="scroll" tabIndex={0} role="region" aria-label="Scrollable table">
          <table>
            <thead>
              <tr>
                <th scope="col">Who</th>
                <th scope="col">Via</th>
                <th scope="col">Step</th>
                <th scope="col">Outcome</th>
                <th scope="col">Attempts</th>
              </tr>
            </thead>
            <tbody>
              {notes.data.notifications.map((n: any) => (
                <tr>
                  <td>{nameOf(n.user_id) ?? (n.user_id ? n.user_id : 'channel')}</td>
                  <td>
                    {n.target} ({n.channel})
                  </td>
                  <td>{n.escalation ? `${n.escalation.step + 1}` : '—'}</td>
                  <td>
                    <Badge text={n.status} /> {n.last_status ? `HTTP ${n.last_status}` : ''} {n.last_error ? <span class="muted">{n.last_error}</span> : null}{' '}
                    {n.sent_at ? <span class="muted">{ago(n.sent_at)}</span> : null}
                  </td>
                  <td>{n.attempts}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>Timeline</h2>
      {respond ? <NoteForm base={base} onDone={reload} /> : null}
      <ErrorBox error={timeline.error} />
      {!timeline.data ? (
        <Loading what="the timeline" />
      ) : (
        <ol class="timeline" aria-live="polite">
          {[...timeline.data.timeline].reverse().map((e: any) => (
            <li>
              <time dateTime={e.at}>{when(e.at)}</time> <Badge text={e.type} tone="neutral" /> {e.message} <span class="muted">— {e.actor}</span>
            </li>
          ))}
        </ol>
      )}
      <h2>Postmortem</h2>
      <Postmortem base={base} respond={respond} />
      <h2>Action items</h2>
      <ActionItems base={base} items={i.action_items} respond={respond} onDone={reload} />
    </Page>
  );
}

function Roles({ i, base, respond, onDone }: { i: any; base: string; respond: boolean; onDone(): void }) {
  const [role, setRole] = useState('commander');
  const [user, setUser] = useState('');
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const roles = Object.entries(i.roles ?? {}) as [string, any][];
  return (
    <>
      {roles.length === 0 ? <p class="muted">No roles assigned.</p> : null}
      <ul class="plain">
        {roles.map(([r, p]) => (
          <li>
            {r}: <strong>{p.name ?? p.email ?? p.user_id}</strong> {respond ? <Action label="Unassign" run={() => del(`${base}/roles/${r}`)} onDone={onDone} /> : null}
          </li>
        ))}
      </ul>
      {respond ? (
        <form
          class="inline"
          onSubmit={async (e) => {
            e.preventDefault();
            try {
              await put(`${base}/roles/${role}`, { user });
              setUser('');
              setError(undefined);
              onDone();
            } catch (err) {
              setError(err as ApiError);
            }
          }}
        >
          <label>
            Role{' '}
            <select value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value)}>
              {['commander', 'communications', 'scribe'].map((r) => (
                <option value={r}>{r}</option>
              ))}
            </select>
          </label>
          <Field idPrefix="role-" label="Person (name or email)" name="user" value={user} onInput={setUser} error={error} />
          <button type="submit">Assign</button>
          {error && !error.field('user') ? (
            <span class="field-error" role="alert">
              {error.message}
            </span>
          ) : null}
        </form>
      ) : null}
    </>
  );
}

function NoteForm({ base, onDone }: { base: string; onDone(): void }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<ApiError | undefined>(undefined);
  return (
    <form
      class="note"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await post(`${base}/notes`, { text });
          setText('');
          setError(undefined);
          onDone();
        } catch (err) {
          // What was typed stays in the box.
          setError(err as ApiError);
        }
      }}
    >
      <label for="note-text">Add a note</label>
      <textarea id="note-text" rows={2} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} aria-invalid={error ? 'true' : undefined} />
      {error ? (
        <span class="field-error" role="alert">
          {error.message}
        </span>
      ) : null}
      <button type="submit">Add note</button>
    </form>
  );
}

function Postmortem({ base, respond }: { base: string; respond: boolean }) {
  const pm = useData(
    () =>
      get(`${base}/postmortem`).catch((e) => {
        if (e instanceof ApiError && e.status === 404) return null;
        throw e;
      }),
    [base],
    null,
  );
  const [text, setText] = useState<string | undefined>(undefined);
  const [tab, setTab] = useState<'write' | 'preview'>('write');
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [saved, setSaved] = useState<string | undefined>(undefined);
  useEffect(() => {
    if (pm.data && text === undefined) setText(pm.data.markdown);
  }, [pm.data]);
  if (pm.data === undefined) return pm.error ? <ErrorBox error={pm.error} /> : <Loading what="the postmortem" />;
  if (pm.data === null && text === undefined) {
    return respond ? (
      <p>
        No postmortem yet.{' '}
        <Action
          label="Draft the postmortem"
          kind="primary"
          run={async () => {
            const r = await post(`${base}/postmortem`, {});
            setText(r.markdown);
            await pm.reload();
          }}
        />
      </p>
    ) : (
      <p class="muted">No postmortem yet.</p>
    );
  }
  const value = text ?? '';
  return (
    <div class="postmortem">
      <div role="tablist" aria-label="Postmortem">
        <button type="button" role="tab" aria-selected={tab === 'write'} onClick={() => setTab('write')} disabled={!respond}>
          Write
        </button>
        <button type="button" role="tab" aria-selected={tab === 'preview'} onClick={() => setTab('preview')}>
          Preview
        </button>
      </div>
      {tab === 'write' && respond ? (
        <>
          <label for="pm-text" class="sr-only">
            Postmortem (Markdown)
          </label>
          <textarea id="pm-text" rows={16} value={value} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
          <div class="actions-row">
            <button
              type="button"
              class="primary"
              onClick={async () => {
                try {
                  await api('PUT', `${base}/postmortem`, { markdown: value });
                  setError(undefined);
                  setSaved(`Saved ${new Date().toLocaleTimeString()}`);
                } catch (e) {
                  setError(e as ApiError);
                  setSaved(undefined);
                }
              }}
            >
              Save postmortem
            </button>
            {saved ? <span role="status">{saved}</span> : null}
            {error ? (
              <span class="field-error" role="alert">
                {error.message}
              </span>
            ) : null}
          </div>
        </>
      ) : (
        // Rendered from Markdown with raw HTML escaped (markdown.ts).
        <div class="markdown" data-testid="pm-preview" dangerouslySetInnerHTML={{ __html: renderMarkdown(value) }} />
      )}
    </div>
  );
}

function ActionItems({ base, items, respond, onDone }: { base: string; items: any[]; respond: boolean; onDone(): void }) {
  const [title, setTitle] = useState('');
  const [owner, setOwner] = useState('');
  const [error, setError] = useState<ApiError | undefined>(undefined);
  return (
    <>
      {items.length === 0 ? <p class="muted">No action items.</p> : null}
      <ul class="plain">
        {items.map((a) => (
          <li>
            <Badge text={a.status} tone="neutral" /> {a.title} {a.owner ? <span class="muted">({a.owner.name ?? a.owner.email ?? a.owner.user_id})</span> : null}
            {respond && a.status !== 'done' ? <Action label="Done" run={() => patch(`${base}/action-items/${a.id}`, { status: 'done' })} onDone={onDone} /> : null}
          </li>
        ))}
      </ul>
      {respond ? (
        <form
          class="inline"
          onSubmit={async (e) => {
            e.preventDefault();
            try {
              await post(`${base}/action-items`, { title, ...(owner ? { owner } : {}) });
              setTitle('');
              setOwner('');
              setError(undefined);
              onDone();
            } catch (err) {
              setError(err as ApiError);
            }
          }}
        >
          <Field idPrefix="item-" label="New action item" name="title" value={title} onInput={setTitle} error={error} />
          <Field idPrefix="item-" label="Owner (optional)" name="owner" value={owner} onInput={setOwner} error={error} />
          <button type="submit">Add</button>
          {error && !error.field('title') && !error.field('owner') ? (
            <span class="field-error" role="alert">
              {error.message}
            </span>
          ) : null}
        </form>
      ) : null}
    </>
  );
}
