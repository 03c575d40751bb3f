/**
 * On-call: each schedule's layers, overrides and final shifts for the next 7 days, gaps flagged,
 * "take this shift" (an override), my shifts, and iCalendar feed links.
 */
import { useState } from 'preact/hooks';
import { get, post, qs, del } from '../api';
import { Action, Badge, ErrorBox, Loading, Page, can, useData, useSession, when } from '../ui';

export function Oncall() {
  const s = useSession();
  const now = useData(() => get('/v1/oncall'), [], 30_000);
  const mine = useData(
    () => (s.user ? get(`/v1/oncall/users/${encodeURIComponent(s.user.email)}/shifts${qs({ until: new Date(Date.now() + 14 * 86_400_000).toISOString() })}`).catch(() => null) : Promise.resolve(null)),
    [],
    30_000,
  );
  const schedules = ((now.data?.oncall ?? []) as any[]).map((o) => o.schedule as string);
  const write = can(s, 'paging:write');
  return (
    <Page title="On-call">
      <ErrorBox error={now.error} />
      {s.user ? (
        <section>
          <h2>My shifts (next 14 days)</h2>
          {!mine.data ? (
            <p class="muted">You have no shifts (or no User definition with your email).</p>
          ) : mine.data.shifts.length === 0 ? (
            <p class="muted">No shifts.</p>
          ) : (
            <ul class="plain" data-testid="my-shifts">
              {mine.data.shifts.map((x: any) => (
                <li>
                  {x.schedule}: {when(x.start)} – {when(x.end)} <Badge text={x.source} tone="neutral" />
                </li>
              ))}
            </ul>
          )}
          {write ? <FeedLink what="my calendar" path={`/v1/oncall/users/${encodeURIComponent(s.user.email)}/ical-feeds`} /> : null}
        </section>
      ) : null}
      {!now.data ? <Loading what="schedules" /> : schedules.length === 0 ? <p class="muted">No schedules yet.</p> : schedules.map((name) => <Schedule name={name} write={write} me={s.user?.email} />)}
    </Page>
  );
}

function Schedule({ name, write, me }: { name: string; write: boolean; me: string | undefined }) {
  const enc = encodeURIComponent(name);
  const shifts = useData(() => get(`/v1/schedules/${enc}/oncall${qs({ until: new Date(Date.now() + 7 * 86_400_000).toISOString() })}`), [name], 30_000);
  const overrides = useData(() => get(`/v1/schedules/${enc}/overrides`), [name], 30_000);
  const def = useData(() => get(`/v1/definitions/Schedule/${enc}`).catch(() => null), [name], null);
  const reload = async () => {
    await Promise.all([shifts.reload(), overrides.reload()]);
  };
  const layers = (def.data?.spec?.layers ?? def.data?.definition?.spec?.layers ?? []) as any[];
  return (
    <section class="card schedule" data-testid={`schedule-${name}`}>
      <h2>{name}</h2>
      <ErrorBox error={shifts.error} />
      {layers.length ? (
        <p class="small">
          Layers:{' '}
          {layers.map((l) => (
            <span class="label">
              {l.name}: {(l.users ?? []).join(', ')} every {l.turn}
            </span>
          ))}
        </p>
      ) : null}
      {!shifts.data ? (
        <Loading what="shifts" />
      ) : (
        <>
          {shifts.data.gaps.length ? (
            <p class="error" role="alert">
              Nobody is on call for {shifts.data.gaps.length} gap{shifts.data.gaps.length === 1 ? '' : 's'} in the next 7 days:{' '}
              {shifts.data.gaps.map((g: any) => `${when(g.start)} – ${when(g.end)}`).join('; ')}
            </p>
          ) : (
            <p class="muted small">No gaps in the next 7 days. Times in {shifts.data.time_zone}.</p>
          )}
          <Week shifts={shifts.data.shifts} gaps={shifts.data.gaps} />
          <div class="scroll" tabIndex={0} role="region" aria-label="Scrollable table">
            <table>
              <thead>
                <tr>
                  <th scope="col">Who</th>
                  <th scope="col">From</th>
                  <th scope="col">To</th>
                  <th scope="col">Source</th>
                  {write ? <th scope="col">Action</th> : null}
                </tr>
              </thead>
              <tbody>
                {shifts.data.shifts.map((x: any) => (
                  <tr>
                    <td>{x.user.name ?? x.user.email}</td>
                    <td>{when(x.start)}</td>
                    <td>{when(x.end)}</td>
                    <td>
                      <Badge text={x.source} tone="neutral" />
                    </td>
                    {write ? (
                      <td>
                        {me && x.user.email !== me ? (
                          <Action label="Take this shift" run={() => post(`/v1/schedules/${enc}/overrides`, { user: me, start: x.start, end: x.end })} onDone={reload} />
                        ) : null}
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      <h3>Overrides</h3>
      {!overrides.data ? null : overrides.data.overrides.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <ul class="plain" data-testid="overrides">
          {overrides.data.overrides.map((o: any) => (
            <li>
              {o.user.name ?? o.user.email}: {when(o.start)} – {when(o.end)} <span class="muted">by {o.created_by}</span>{' '}
              {write ? <Action label="Remove" run={() => del(`/v1/schedules/${enc}/overrides/${encodeURIComponent(o.id)}`)} onDone={reload} /> : null}
            </li>
          ))}
        </ul>
      )}
      {write ? <FeedLink what={`the ${name} calendar`} path={`/v1/schedules/${enc}/ical-feeds`} /> : null}
    </section>
  );
}

/** Creates an iCalendar feed token; its URL is shown once (only its hash is kept). */
function FeedLink({ what, path }: { what: string; path: string }) {
  const [url, setUrl] = useState<string | undefined>(undefined);
  return url ? (
    <p class="secret">
      Subscribe to {what} (shown once, keep it): <code>{url}</code>
    </p>
  ) : (
    <Action label={`iCalendar link for ${what}`} run={async () => setUrl((await post(path, {})).url)} />
  );
}

/** The next 7 days at a glance: who covers each day (in this browser's time zone), and gaps. */
function Week({ shifts, gaps }: { shifts: any[]; gaps: any[] }) {
  const start = new Date();
  start.setHours(0, 0, 0, 0);
  const days = Array.from({ length: 7 }, (_, i) => {
    const from = new Date(start.getTime() + i * 86_400_000);
    const to = new Date(from.getTime() + 86_400_000);
    const overlaps = (x: any) => Date.parse(x.start) < to.getTime() && Date.parse(x.end) > from.getTime();
    const names = [...new Set(shifts.filter(overlaps).map((x) => (x.source === 'override' ? `${x.user.name ?? x.user.email} (override)` : (x.user.name ?? x.user.email))))];
    return { from, names, gap: gaps.some(overlaps) };
  });
  return (
    <ol class="week" aria-label="Next 7 days">
      {days.map((d) => (
        <li class={d.gap ? 'gap' : ''}>
          <strong>{d.from.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric' })}</strong>
          {d.names.map((n) => (
            <span>{n}</span>
          ))}
          {d.gap ? <span class="bad">gap</span> : null}
        </li>
      ))}
    </ol>
  );
}
