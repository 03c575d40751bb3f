/** Alerts, firing and recent, and what paging did with each; silence an alert by its labels. */
import { useState } from 'preact/hooks';
import { ApiError, get, post, qs } from '../api';
import { href, setQuery, useLocation } from '../router';
import { Badge, ErrorBox, Field, Loading, Page, ago, can, useData, useSession } from '../ui';

export function Alerts() {
  const s = useSession();
  const { query } = useLocation();
  const status = query.get('status') ?? 'firing';
  const alerts = useData(() => get(`/v1/paging/alerts${qs({ status: status === 'all' ? undefined : status, limit: 100 })}`), [status]);
  const [silencing, setSilencing] = useState<string | undefined>(undefined);
  const write = can(s, 'definitions:write');
  return (
    <Page title="Alerts">
      <div class="filters" role="group" aria-label="Status">
        {['firing', 'resolved', 'all'].map((v) => (
          <button type="button" aria-pressed={v === status} onClick={() => setQuery({ status: v })}>
            {v}
          </button>
        ))}
      </div>
      <ErrorBox error={alerts.error} />
      {!alerts.data ? (
        <Loading what="alerts" />
      ) : alerts.data.alerts.length === 0 ? (
        <p class="muted">No {status === 'all' ? '' : status} alerts.</p>
      ) : (
        <ul class="cards">
          {alerts.data.alerts.map((a: any) => (
            <li class="card" data-testid="alert">
              <p>
                <Badge text={a.status} /> <Badge text={a.severity} /> <strong>{a.summary}</strong>
              </p>
              <p class="muted small">
                {a.source} · ×{a.count} · first {ago(a.first_seen)} · last {ago(a.last_seen)}
                {a.paging?.service ? <> · service {a.paging.service}</> : null}
                {a.paging?.suppressed_by ? <> · suppressed by {a.paging.suppressed_by}</> : null}
              </p>
              <p class="small">
                {Object.entries(a.labels as Record<string, string>).map(([k, v]) => (
                  <code class="label">
                    {k}={v}
                  </code>
                ))}
              </p>
              {a.paging?.incident_id ? <a href={href(`/incidents/${encodeURIComponent(a.paging.incident_id)}`)}>Open its incident</a> : null}{' '}
              {write ? (
                silencing === a.id ? (
                  <SilenceForm
                    alert={a}
                    me={s.user?.email ?? s.team}
                    onDone={() => {
                      setSilencing(undefined);
                      void alerts.reload();
                    }}
                  />
                ) : (
                  <button type="button" onClick={() => setSilencing(a.id)}>
                    Silence…
                  </button>
                )
              ) : null}
            </li>
          ))}
        </ul>
      )}
    </Page>
  );
}

/** Applies a `keel/v1 Silence` definition matching the alert's labels (POST /v1/definitions/apply). */
function SilenceForm({ alert, me, onDone }: { alert: any; me: string; onDone(): void }) {
  const labels = Object.entries(alert.labels as Record<string, string>);
  const [matchers, setMatchers] = useState((labels.length ? labels.map(([k, v]) => `${k}="${v}"`) : [`source="${alert.source}"`]).join('\n'));
  const [hours, setHours] = useState('2');
  const [comment, setComment] = useState('');
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);
  const fieldError = (path: string) => error?.details.find((d) => d.path.includes(path))?.message;
  return (
    <form
      class="silence"
      onSubmit={async (e) => {
        e.preventDefault();
        const h = Number(hours);
        const start = new Date();
        const name = `silence-${alert.id}`
          .toLowerCase()
          .replace(/[^a-z0-9-]/g, '-')
          .slice(0, 60);
        const doc = {
          apiVersion: 'keel/v1',
          kind: 'Silence',
          metadata: { name },
          spec: {
            matchers: matchers
              .split('\n')
              .map((m) => m.trim())
              .filter(Boolean),
            startsAt: start.toISOString(),
            endsAt: new Date(start.getTime() + (Number.isFinite(h) ? h : NaN) * 3_600_000).toISOString(),
            createdBy: me,
            comment,
          },
        };
        try {
          if (!Number.isFinite(h) || h <= 0) throw new ApiError(400, 'validation_failed', 'hours: a positive number of hours', [{ path: 'hours', message: 'a positive number of hours' }]);
          await post('/v1/definitions/apply', { sources: [{ file: `console/${name}.yaml`, content: JSON.stringify(doc) }] });
          setDone(`Silenced until ${new Date(doc.spec.endsAt).toLocaleString()}`);
          setError(undefined);
          setTimeout(onDone, 1500);
        } catch (err) {
          setError(err as ApiError);
        }
      }}
    >
      <label for={`m-${alert.id}`}>Matchers (one per line)</label>
      <textarea id={`m-${alert.id}`} rows={3} value={matchers} onInput={(e) => setMatchers((e.target as HTMLTextAreaElement).value)} />
      {fieldError('matchers') ? <span class="field-error">{fieldError('matchers')}</span> : null}
      <Field label="For how many hours" name="hours" value={hours} onInput={setHours} error={error} />
      <label for={`c-${alert.id}`}>Comment</label>
      <input id={`c-${alert.id}`} value={comment} onInput={(e) => setComment((e.target as HTMLInputElement).value)} />
      {fieldError('comment') ? <span class="field-error">{fieldError('comment')}</span> : null}
      {error && !fieldError('matchers') && !fieldError('comment') && !error.field('hours') ? (
        <p class="error" role="alert">
          {error.message}
        </p>
      ) : null}
      {done ? <p role="status">{done}</p> : null}
      <button type="submit" class="primary">
        Create silence
      </button>
    </form>
  );
}
