/** Now: am I on call, who is next, incidents waiting for my acknowledgement, open incidents, SLOs burning fastest. */
import { get, qs } from '../api';
import { href } from '../router';
import { ErrorBox, Loading, Page, ago, Badge, pct, useData, useSession, can } from '../ui';

export function Now() {
  const s = useSession();
  const me = s.user?.email;
  const oncall = useData(() => (can(s, 'oncall:read') ? get('/v1/oncall') : Promise.resolve({ oncall: [] })), []);
  const open = useData(() => get(`/v1/incidents${qs({ state: 'open', limit: 50 })}`), []);
  // Triggered incidents that paged me (their deliveries name the people paged).
  const mine = useData(async () => {
    if (!s.user) return [];
    const triggered = (await get(`/v1/incidents${qs({ state: 'triggered', limit: 20 })}`)).incidents as any[];
    const out = [];
    for (const i of triggered) {
      const n = (await get(`/v1/incidents/${encodeURIComponent(i.id)}/notifications`)).notifications as any[];
      if (n.some((x) => x.user_id === s.user!.id)) out.push(i);
    }
    return out;
  }, []);
  const slos = useData(() => (can(s, 'slo:read') ? get('/v1/slos') : Promise.resolve({ slos: [] })), []);
  const schedules = (oncall.data?.oncall ?? []) as any[];
  const onCallNow = schedules.filter((o) => o.on_call?.email === me);
  const burning = ((slos.data?.slos ?? []) as any[])
    .flatMap((x) => x.objectives.map((o: any) => ({ slo: x, o })))
    .sort((a, b) => a.o.budgetRemainingPercent - b.o.budgetRemainingPercent)
    .slice(0, 5);
  return (
    <Page title="Now">
      <div class="grid">
        <article class="card">
          <h2>On call</h2>
          <ErrorBox error={oncall.error} />
          {!oncall.data ? (
            <Loading what="on-call" />
          ) : (
            <>
              <p class="big" data-testid="am-i-on-call">
                {onCallNow.length ? `You are on call (${onCallNow.map((o) => o.schedule).join(', ')})` : 'You are not on call now'}
              </p>
              <ul class="plain">
                {schedules.map((o) => (
                  <li>
                    <strong>{o.schedule}</strong>: {o.on_call ? (o.on_call.name ?? o.on_call.email) : <Badge text="nobody" tone="bad" />}
                    {o.until ? ` until ${ago(o.until).replace(' ago', '')}` : ''}
                    {o.next ? <span class="muted"> · next {o.next.user.name ?? o.next.user.email} {ago(o.next.start)}</span> : null}
                  </li>
                ))}
              </ul>
            </>
          )}
        </article>
        <article class="card">
          <h2>Waiting for your acknowledgement</h2>
          <ErrorBox error={mine.error} />
          {!mine.data ? <Loading what="incidents" /> : mine.data.length === 0 ? <p class="muted">Nothing is waiting for you.</p> : <IncidentList list={mine.data} />}
        </article>
        <article class="card">
          <h2>Open incidents</h2>
          <ErrorBox error={open.error} />
          {!open.data ? <Loading what="incidents" /> : open.data.incidents.length === 0 ? <p class="muted">No open incidents.</p> : <IncidentList list={open.data.incidents} />}
        </article>
        <article class="card">
          <h2>SLOs burning fastest</h2>
          <ErrorBox error={slos.error} />
          {!slos.data ? (
            <Loading what="SLOs" />
          ) : burning.length === 0 ? (
            <p class="muted">No SLOs yet.</p>
          ) : (
            <ul class="plain">
              {burning.map(({ slo, o }) => (
                <li>
                  <a href={href(`/slos/${encodeURIComponent(slo.name)}`)}>{slo.displayName ?? slo.name}</a> {o.name ? <span class="muted">({o.name})</span> : null}: budget{' '}
                  <strong class={o.budgetRemainingPercent < 0 ? 'bad' : o.budgetRemainingPercent < 25 ? 'warn' : ''}>{pct(o.budgetRemainingPercent, 1)}</strong> left
                  {slo.firing.length ? <> <Badge text={`firing ${slo.firing.join(', ')}`} tone="bad" /></> : null}
                </li>
              ))}
            </ul>
          )}
        </article>
      </div>
    </Page>
  );
}

export function IncidentList({ list }: { list: any[] }) {
  return (
    <ul class="plain">
      {list.map((i) => (
        <li>
          <Badge text={i.severity} /> <Badge text={i.state} /> <a href={href(`/incidents/${encodeURIComponent(i.id)}`)}>#{i.number} {i.title}</a> <span class="muted">{ago(i.opened_at)}</span>
        </li>
      ))}
    </ul>
  );
}
