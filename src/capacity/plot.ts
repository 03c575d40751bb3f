/**
 * `keel capacity plot`: a limit's usage history, the forecast with its band and the capacity
 * line, rendered on the server by Vega-Lite (compiled to Vega, rendered headless to SVG) and, for
 * PNG, rasterised by resvg. No browser, no canvas module: Vega measures text by estimate in Node.
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { LimitReport } from './capacity-report.js';
import { forecast, forecastAt, type Point } from './forecast.js';
import type { ReportOptions } from './capacity-report.js';

interface Row {
  t: string;
  series: string;
  v?: number;
  low?: number;
  high?: number;
}

const FORECAST_POINTS = 120;

function exhaustionText(r: LimitReport): string {
  const e = r.exhaustion;
  if (e.status === 'exhausted') return 'at or over capacity now';
  if (e.status === 'forecast') return `runs out ~${e.at!.slice(0, 16).replace('T', ' ')} UTC (band ${e.earliest!.slice(0, 10)} – ${e.latest === null ? 'beyond horizon' : e.latest.slice(0, 10)})`;
  if (e.status === 'not_before') return `not before ${e.notBefore!.slice(0, 10)}`;
  return e.reason ?? 'no forecast';
}

/** The Vega-Lite spec (exported for tests: what the picture holds). */
export function plotSpec(r: LimitReport, history: readonly Point[], o: ReportOptions): TopLevelSpec {
  const rows: Row[] = history.map((p) => ({ t: new Date(p.t).toISOString(), series: 'usage', v: p.v }));
  if (r.capacity !== null && r.capacity > 0 && history.length >= 3 && r.model !== null) {
    const f = forecast(history, {
      now: o.now,
      capacity: r.capacity,
      horizonMs: o.horizonMs,
      model: r.model,
      ...(o.growthPerMonth !== undefined ? { growthPerMonth: o.growthPerMonth } : {}),
      ...(o.adjustments ? { adjustments: o.adjustments } : {}),
    });
    for (let i = 0; i <= FORECAST_POINTS; i++) {
      const t = o.now + (o.horizonMs * i) / FORECAST_POINTS;
      const b = forecastAt(f.fit, t, {
        now: o.now,
        capacity: r.capacity,
        horizonMs: o.horizonMs,
        ...(o.growthPerMonth !== undefined ? { growthPerMonth: o.growthPerMonth } : {}),
        ...(o.adjustments ? { adjustments: o.adjustments } : {}),
      });
      rows.push({ t: new Date(t).toISOString(), series: `forecast (${f.fit.model})`, v: b.value, low: Math.max(0, b.low), high: b.high });
    }
  }
  const unit = r.unit === '' ? '' : ` (${r.unit})`;
  const x = { field: 't', type: 'temporal' as const, title: 'time (UTC)', axis: { format: '%Y-%m-%d %H:%M', labelAngle: -30, labelOverlap: true } };
  const y = { field: 'v', type: 'quantitative' as const, title: `usage${unit}` };
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 800,
    height: 360,
    background: 'white',
    title: { text: `${r.id}: ${r.title}`, subtitle: `${r.utilisation === null ? 'no capacity' : `${(r.utilisation * 100).toFixed(1)} % used now`}; ${exhaustionText(r)}` },
    data: { values: rows },
    layer: [
      {
        mark: { type: 'area', opacity: 0.2, color: '#4c78a8' },
        transform: [{ filter: 'datum.low != null' }],
        encoding: { x, y: { field: 'low', type: 'quantitative', title: `usage${unit}` }, y2: { field: 'high' } },
      },
      {
        mark: { type: 'line', strokeWidth: 2 },
        encoding: {
          x,
          y,
          color: { field: 'series', type: 'nominal', title: null, scale: { range: ['#e45756', '#4c78a8'] } },
          strokeDash: {
            field: 'series',
            type: 'nominal',
            legend: null,
            scale: {
              range: [
                [6, 4],
                [1, 0],
              ],
            },
          },
        },
      },
      // One row of their own: on the chart's data the line and its label were drawn once per row.
      ...(r.capacity !== null
        ? [
            { data: { values: [{}] }, mark: { type: 'rule', color: '#d62728', strokeWidth: 2 }, encoding: { y: { datum: r.capacity } } },
            {
              data: { values: [{}] },
              mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: '#d62728' },
              encoding: { y: { datum: r.capacity }, x: { value: 0 }, text: { value: `capacity ${r.capacity}${unit}` } },
            },
          ]
        : []),
    ],
  };
  return spec as unknown as TopLevelSpec;
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export function svgToPng(svg: string): Buffer {
  const r = new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } });
  return r.render().asPng();
}
