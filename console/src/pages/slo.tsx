/**
 * One SLO: SLI, budget remaining and burn rates over a range (the series API), alert windows and
 * transitions, the breakdown of bad events, and the forecast.
 */
import { useMemo } from 'preact/hooks';
import { get, qs } from '../api';
import { Chart } from '../chart';
import { setQuery, useLocation } from '../router';
import { Badge, ErrorBox, Loading, Page, ago, pct, useData, when } from '../ui';

const RANGES: Record<string, { from: string; step?: string }> = {
  '1h': { from: 'now-1h', step: '1m' },
  '24h': { from: 'now-24h' },
  '7d': { from: 'now-7d', step: '2h' },
  '30d': { from: 'now-30d', step: '12h' },
};
const COLORS = ['#c0392b', '#e67e22', '#2980b9', '#8e44ad', '#16a085', '#7f8c8d'];
/** The API names a condition's comparison (`gt`, …); people read the symbol. */
const OPS: Record<string, string> = { gt: '>', gte: '≥', lt: '<', lte: '≤' };

export function SloDetail({ name }: { name: string }) {
  const { query } = useLocation();
  const range = RANGES[query.get('range') ?? '24h'] ? (query.get('range') ?? '24h') : '24h';
  const enc = encodeURIComponent(name);
  const status = useData(() => get(`/v1/slos/${enc}`), [name]);
  const series = useData(() => get(`/v1/slos/${enc}/series${qs({ from: RANGES[range]!.from, step: RANGES[range]!.step })}`), [name, range], 30_000);
  const alerts = useData(() => get(`/v1/slos/${enc}/alerts${qs({ limit: 20 })}`), [name]);
  const st = status.data;
  const charts = useMemo(() => {
    const objectives = (series.data?.objectives ?? []) as any[];
    return objectives.map((o) => {
      const times = o.points.map((p: any) => Date.parse(p.t) / 1000);
      const windows = Object.keys(o.points[0]?.burnRates ?? {});
      return {
        o,
        times,
        sli: [{ label: 'SLI %', color: '#2980b9', values: o.points.map((p: any) => (p.events.total ? p.sli * 100 : null)) }],
        budget: [{ label: 'budget left %', color: '#16a085', values: o.points.map((p: any) => p.budgetRemaining * 100) }],
        burn: windows.map((w, i) => ({ label: `burn ${w}`, color: COLORS[i % COLORS.length]!, values: o.points.map((p: any) => p.burnRates[w] ?? null) })),
      };
    });
  }, [series.data]);
  return (
    <Page title={st?.displayName ?? name}>
      <ErrorBox error={status.error} />
      {!st ? (
        status.error ? null : (
          <Loading what="the SLO" />
        )
      ) : (
        <>
          <p class="facts">
            Service <strong>{st.service}</strong> · window {st.window?.text ?? st.window?.duration ?? ''} · {st.budgetingMethod}
            {st.description ? <> · {st.description}</> : null}
          </p>
          {st.objectives.map((o: any) => (
            <div class="grid" data-testid="slo-objective">
              <article class="card">
                <h2>{o.name || 'Objective'}</h2>
                <p>
                  Target <strong>{pct(o.targetPercent, 3)}</strong>, SLI <strong>{o.events.total ? pct(o.sli * 100, 3) : '—'}</strong> ({o.events.bad} bad of {o.events.total})
                </p>
                <p>
                  Error budget left:{' '}
                  <strong class={o.errorBudget.remainingPercent < 0 ? 'bad' : o.errorBudget.remainingPercent < 25 ? 'warn' : ''} data-testid="budget-left">
                    {pct(o.errorBudget.remainingPercent, 1)}
                  </strong>
                </p>
                <p>
                  Forecast ({o.forecast.window}, burn {o.forecast.burnRate}×):{' '}
                  {o.forecast.exhausted ? (
                    <Badge text="budget exhausted" tone="bad" />
                  ) : o.forecast.exhaustsAt ? (
                    `runs out ${ago(o.forecast.exhaustsAt)} (${when(o.forecast.exhaustsAt)})`
                  ) : (
                    'not running out'
                  )}
                </p>
              </article>
              <article class="card">
                <h2>Burn rates</h2>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Window</th>
                      <th scope="col">Burn rate</th>
                      <th scope="col">Bad / total</th>
                    </tr>
                  </thead>
                  <tbody>
                    {o.burnRates.map((b: any) => (
                      <tr>
                        <td>{b.window}</td>
                        <td class={b.burnRate >= 14.4 ? 'bad' : b.burnRate >= 1 ? 'warn' : ''}>{b.burnRate}×</td>
                        <td>
                          {b.badEvents} / {b.totalEvents}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </article>
              {o.topBreakdown?.length ? (
                <article class="card">
                  <h2>Where the bad events are</h2>
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">Values</th>
                        <th scope="col">Bad</th>
                        <th scope="col">Bad ratio</th>
                      </tr>
                    </thead>
                    <tbody>
                      {o.topBreakdown.map((b: any) => (
                        <tr>
                          <td>
                            {Object.entries(b.values)
                              .map(([k, v]) => `${k}=${String(v)}`)
                              .join(', ')}
                          </td>
                          <td>{b.badEvents}</td>
                          <td>{pct(b.badRatio * 100, 2)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </article>
              ) : null}
            </div>
          ))}
        </>
      )}
      <h2>Over time</h2>
      <div class="filters" role="group" aria-label="Range">
        {Object.keys(RANGES).map((r) => (
          <button type="button" aria-pressed={r === range} onClick={() => setQuery({ range: r })}>
            {r}
          </button>
        ))}
      </div>
      <ErrorBox error={series.error} />
      {!series.data ? (
        <Loading what="the series" />
      ) : (
        charts.map((c) => (
          <div data-testid="slo-charts">
            <Chart title={`SLI ${c.o.name ?? ''}`} times={c.times} series={c.sli} yLabel="%" threshold={c.o.target * 100} />
            <Chart title="Error budget remaining" times={c.times} series={c.budget} yLabel="%" threshold={0} />
            <Chart title="Burn rate" times={c.times} series={c.burn} yLabel="×" threshold={1} />
          </div>
        ))
      )}
      <h2>Alerts</h2>
      <ErrorBox error={alerts.error} />
      {!alerts.data ? (
        <Loading what="alerts" />
      ) : (
        <>
          {st?.policies?.length ? (
            <ul class="plain">
              {st.policies.flatMap((p: any) =>
                p.conditions.map((c: any) => (
                  <li>
                    <Badge text={c.severity} tone="neutral" /> {p.name}/{c.name}: burn {OPS[c.op] ?? c.op ?? '>'} {c.threshold} over {c.longWindow} and {c.shortWindow}
                    {c.alertAfter && c.alertAfter !== '0s' ? `, for ${c.alertAfter}` : ''}
                  </li>
                )),
              )}
            </ul>
          ) : null}
          <ul class="plain">
            {alerts.data.alerts.map((a: any) => (
              <li>
                <Badge text={a.status} /> {a.policy} {a.severity}
                {a.values?.noData ? ' (no data)' : ''} since {when(a.since)}
              </li>
            ))}
          </ul>
          <h3>Transitions</h3>
          {alerts.data.transitions.length === 0 ? (
            <p class="muted">None yet.</p>
          ) : (
            <ol class="timeline">
              {alerts.data.transitions.map((t: any) => (
                <li>
                  <time dateTime={t.at}>{when(t.at)}</time> <Badge text={t.status} /> {t.policy} {t.severity === 'nodata' ? '(no data)' : t.severity}
                </li>
              ))}
            </ol>
          )}
        </>
      )}
    </Page>
  );
}
