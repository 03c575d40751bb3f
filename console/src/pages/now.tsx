/** Now: am I on call, who is next, incidents waiting for my acknowledgement, open incidents, SLOs burning fastest. */
import { get, qs } from '../api';
import { href } from '../router';
import { ErrorBox, Loading, Page, ago, Badge, pct, useData, useSession, can } from '../ui';

export function Now() {
  const s = useSession();
  const me = s.user?.email;
  const oncall = useData(() => (can(s, 'oncall:read') ? get('/v1/oncall') : Promise.resolve({ oncall: [] })), []);
  const open = useData(() => get(`/v1/incidents${qs({ state: 'open', limit: 50 })}`), []);
  // Triggered incidents that paged me: one API call (GET /v1/incidents/waiting-for-me).
  const mine = useData(async () => (s.user ? ((await get('/v1/incidents/waiting-for-me')).incidents as any[]) : []), []);
  const slos = useData(() => (can(s, 'slo:read') ? get('/v1/slos') : Promise.resolve({ slos: [] })), []);
  const schedules = (oncall.data?.oncall ?? []) as any[];
  const onCallNow = schedules.filter((o) => o.on_call?.email === me);
  // Burning fastest: the highest burn rate over the shortest alert window (the burn right now),
  // then the least budget left; SLOs with no events yet (no burn rate) last.
  const burning = ((slos.data?.slos ?? []) as any[])
    .flatMap((x) => x.objectives.map((o: any) => ({ slo: x, o, burn: currentBurn(o.burnRates ?? []) })))
    .sort((a, b) => (b.burn ?? -1) - (a.burn ?? -1) || a.o.budgetRemainingPercent - b.o.budgetRemainingPercent)
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
                    {o.next ? (
                      <span class="muted">
                        {' '}
                        · next {o.next.user.name ?? o.next.user.email} {ago(o.next.start)}
                      </span>
                    ) : null}
                  </li>
                ))}
              </ul>
            </>
          )}
        </article>
        <article class="card" data-testid="waiting-for-me">
          <h2>Waiting for your acknowledgement</h2>
          <ErrorBox error={mine.error} />
          {!mine.data ? <Loading what="incidents" /> : mine.data.length === 0 ? <p class="muted">Nothing is waiting for you.</p> : <IncidentList list={mine.data} />}
        </article>
        <article class="card">
          <h2>Open incidents</h2>
          <ErrorBox error={open.error} />
          {!open.data ? <Loading what="incidents" /> : open.data.incidents.length === 0 ? <p class="muted">No open incidents.</p> : <IncidentList list={open.data.incidents} />}
        </article>
        <article class="card" data-testid="burning">
          <h2>SLOs burning fastest</h2>
          <ErrorBox error={slos.error} />
          {!slos.data ? (
            <Loading what="SLOs" />
          ) : burning.length === 0 ? (
            <p class="muted">No SLOs yet.</p>
          ) : (
            <ul class="plain">
              {burning.map(({ slo, o, burn }) => (
                <li>
                  <a href={href(`/slos/${encodeURIComponent(slo.name)}`)}>{slo.displayName ?? slo.name}</a> {o.name ? <span class="muted">({o.name})</span> : null}: budget{' '}
                  <strong class={o.budgetRemainingPercent < 0 ? 'bad' : o.budgetRemainingPercent < 25 ? 'warn' : ''}>{pct(o.budgetRemainingPercent, 1)}</strong> left
                  {burn !== null ? (
                    <span data-testid="burn-now">
                      {' '}
                      · burning <strong class={burn >= 14.4 ? 'bad' : burn >= 1 ? 'warn' : ''}>{Number(burn.toFixed(2))}×</strong>
                    </span>
                  ) : null}
                  {slo.firing.length ? (
                    <>
                      {' '}
                      <Badge text={`firing ${slo.firing.join(', ')}`} tone="bad" />
                    </>
                  ) : null}
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
          <Badge text={i.severity} /> <Badge text={i.state} />{' '}
          <a href={href(`/incidents/${encodeURIComponent(i.id)}`)}>
            #{i.number} {i.title}
          </a>{' '}
          <span class="muted">{ago(i.opened_at)}</span>
        </li>
      ))}
    </ul>
  );
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** The burn rate over the shortest alert window (`5m`, `1h`, …), or null when it has none yet. */
export function currentBurn(rates: { window: string; burnRate: number | null }[]): number | null {
  const seconds = (w: string) => Number.parseFloat(w) * (UNIT_SECONDS[w.replace(/^[\d.]+/, '')] ?? Number.NaN);
  const shortest = [...rates].filter((r) => Number.isFinite(seconds(r.window))).sort((a, b) => seconds(a.window) - seconds(b.window))[0];
  return shortest?.burnRate ?? null;
}
