/**
 * One limit: its report line (utilisation, peaks, trend, model and back-tested error, the
 * exhaustion band, the action) and the same picture as `keel capacity plot`, rendered by the
 * server (`GET /v1/capacity/limits/:id/plot`, Vega-Lite) and shown as an image.
 */
import { get, qs } from '../api';
import { href, useLocation } from '../router';
import { ErrorBox, Loading, Page, pct, useData } from '../ui';
import { ExhaustionText, Utilisation, num, trendText } from './capacity-parts';

export function CapacityLimit({ id }: { id: string }) {
  const { query } = useLocation();
  const growth = query.get('growth') ?? '';
  const horizon = query.get('horizon') ?? '';
  const enc = encodeURIComponent(id);
  const limit = useData(() => get(`/v1/capacity/limits/${enc}${qs({ growth, horizon })}`), [id, growth, horizon], 30_000);
  // Fetched (not an <img src> to the API) so the request carries the console's team like every other call.
  const plot = useData(() => get<string>(`/v1/capacity/limits/${enc}/plot${qs({ format: 'svg', growth, horizon })}`), [id, growth, horizon], 60_000);
  const l = limit.data;
  return (
    <Page title={id}>
      <p>
        <a href={href(`/capacity${qs({ growth, horizon })}`)}>All limits</a>
      </p>
      <ErrorBox error={limit.error} />
      {!l ? (
        limit.error ? null : (
          <Loading what="the limit" />
        )
      ) : (
        <div class="grid">
          <article class="card" data-testid="limit-facts">
            <h2>{l.title}</h2>
            <p>
              Use <strong>{num(l.usage)}</strong> of {num(l.capacity)} {l.unit} · <Utilisation limit={l} />
            </p>
            <p>
              Peaks: 1 h {num(l.peak.h1)}, 1 d {num(l.peak.d1)}, 7 d {num(l.peak.d7)} {l.unit}
            </p>
            <p>
              Trend {trendText(l)}
              {l.model ? ` · ${l.model} model, back-tested error ${pct((l.backtestError ?? 0) * 100, 1)}` : ''}
              {l.stepAt ? ` · level shift at ${l.stepAt.slice(0, 16).replace('T', ' ')} UTC` : ''}
            </p>
            <p>
              Runs out: <ExhaustionText limit={l} />
            </p>
            <p data-testid="limit-action">
              <strong>What would help:</strong> {l.action}
            </p>
            <p class="muted small">
              {l.samples} samples{l.tenant ? ` · tenant ${l.tenant}` : ' · Keel itself'}
            </p>
          </article>
        </div>
      )}
      <h2>Usage, forecast and capacity</h2>
      <ErrorBox error={plot.error} />
      {!plot.data ? (
        plot.error ? null : (
          <Loading what="the picture" />
        )
      ) : (
        <figure class="plot" data-testid="limit-plot">
          {/* An image of the server's SVG: nothing in it runs, and the CSP allows data: images. */}
          <img src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(plot.data)}`} alt={`Usage history of ${id} with the forecast, its band and the capacity line`} />
          <figcaption class="muted small">
            The same picture as <code>keel capacity plot {id}</code>.
          </figcaption>
        </figure>
      )}
    </Page>
  );
}
