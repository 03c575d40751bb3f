/** SLOs sorted by error budget remaining (least first): objective, SLI, budget, burn rates over the alert windows, firing alerts. */
import { get } from '../api';
import { href } from '../router';
import { Badge, ErrorBox, Loading, Page, pct, useData } from '../ui';

export function Slos() {
  const slos = useData(() => get('/v1/slos'), []);
  const rows = ((slos.data?.slos ?? []) as any[]).flatMap((s) => s.objectives.map((o: any) => ({ s, o }))).sort((a, b) => a.o.budgetRemainingPercent - b.o.budgetRemainingPercent);
  return (
    <Page title="SLOs">
      <ErrorBox error={slos.error} />
      {!slos.data ? (
        <Loading what="SLOs" />
      ) : rows.length === 0 ? (
        <p class="muted">No SLOs yet: apply an OpenSLO document (keel apply -f) or run keel demo.</p>
      ) : (
        <div class="scroll" tabIndex={0} role="region" aria-label="Scrollable table">
          <table>
            <thead>
              <tr>
                <th scope="col">SLO</th>
                <th scope="col">Objective</th>
                <th scope="col">SLI</th>
                <th scope="col">Budget left</th>
                <th scope="col">Burn rates</th>
                <th scope="col" class="hide-narrow">
                  Window
                </th>
                <th scope="col">Alerts</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(({ s, o }) => (
                <tr>
                  <td>
                    <a href={href(`/slos/${encodeURIComponent(s.name)}`)}>{s.displayName ?? s.name}</a>
                    <div class="muted small">{s.service}</div>
                  </td>
                  <td>
                    {o.name ? `${o.name}: ` : ''}
                    {pct(o.target * 100, 3)}
                  </td>
                  <td>{o.events.total ? pct(o.sli * 100, 3) : '—'}</td>
                  <td>
                    <span class={o.budgetRemainingPercent < 0 ? 'bad' : o.budgetRemainingPercent < 25 ? 'warn' : ''}>{pct(o.budgetRemainingPercent, 1)}</span>
                    <meter min={0} max={100} value={Math.max(0, o.budgetRemainingPercent)} aria-label={`budget left of ${s.name}`} />
                  </td>
                  <td class="small" data-testid="burn-rates">
                    {(o.burnRates ?? []).map((b: any, i: number) => (
                      <>
                        {i ? ' · ' : ''}
                        <span class="nowrap">
                          {b.window} <span class={b.burnRate >= 14.4 ? 'bad' : b.burnRate >= 1 ? 'warn' : ''}>{Number(b.burnRate.toFixed(2))}×</span>
                        </span>
                      </>
                    ))}
                  </td>
                  <td class="hide-narrow">{s.window}</td>
                  <td>{s.firing.length ? <Badge text={`firing ${s.firing.join(', ')}`} tone="bad" /> : <span class="muted">none</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}
