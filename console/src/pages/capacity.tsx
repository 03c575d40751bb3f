/**
 * Capacity: every tracked limit ranked by time to exhaustion (`GET /v1/capacity`), with
 * utilisation, trend, the exhaustion band and the action that would help; what-if growth and the
 * horizon live in the URL, so a link shows the same forecast.
 */
import { useState } from 'preact/hooks';
import { get, qs } from '../api';
import { href, setQuery, useLocation } from '../router';
import { ErrorBox, Field, Loading, Page, useData } from '../ui';
import { ExhaustionText, Utilisation, num, trendText } from './capacity-parts';

export function Capacity() {
  const { query } = useLocation();
  const growth = query.get('growth') ?? '';
  const horizon = query.get('horizon') ?? '';
  const report = useData(() => get(`/v1/capacity${qs({ growth, horizon })}`), [growth, horizon], 30_000);
  const [g, setG] = useState(growth);
  const [h, setH] = useState(horizon);
  const limits = (report.data?.limits ?? []) as any[];
  return (
    <Page title="Capacity">
      <form
        class="filters"
        aria-label="What-if"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ growth: g.trim(), horizon: h.trim() });
        }}
      >
        <Field label="What-if growth" name="growth" value={g} onInput={setG} error={report.error} placeholder="20%/month" />
        <Field label="Horizon" name="horizon" value={h} onInput={setH} error={report.error} placeholder="14d" />
        <button type="submit">Apply</button>
      </form>
      <ErrorBox error={report.error} />
      {!report.data ? (
        report.error ? null : (
          <Loading what="the limits" />
        )
      ) : limits.length === 0 ? (
        <p class="muted">No limit sampled yet: the capacity sampler records every limit each capacity.sampleInterval (5 minutes by default).</p>
      ) : (
        <>
          <p class="muted small">
            Soonest exhaustion first; forecasts look to {report.data.horizon.slice(0, 10)}
            {growth ? ` with growth ${growth}` : ''}.
          </p>
          <div class="scroll" tabIndex={0} role="region" aria-label="Scrollable table">
            <table class="limits" data-testid="capacity-limits">
              <thead>
                <tr>
                  <th scope="col">Limit</th>
                  <th scope="col">Use / capacity</th>
                  <th scope="col">Utilisation</th>
                  <th scope="col">Trend</th>
                  <th scope="col">Runs out</th>
                  <th scope="col">Action</th>
                </tr>
              </thead>
              <tbody>
                {limits.map((l) => (
                  <tr data-limit={l.id}>
                    <td>
                      <a href={href(`/capacity/${encodeURIComponent(l.id)}${qs({ growth, horizon })}`)}>{l.id}</a>
                      <div class="muted small">{l.title}</div>
                    </td>
                    <td>{`${num(l.usage)} / ${num(l.capacity)} ${l.unit}`.trim()}</td>
                    <td>
                      <Utilisation limit={l} />
                    </td>
                    <td>{trendText(l)}</td>
                    <td>
                      <ExhaustionText limit={l} />
                    </td>
                    <td class="small">{l.action}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </Page>
  );
}
