/** A uPlot line chart (canvas; fast for a 30-day window of points). */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  values: (number | null)[];
  color: string;
}

export function Chart({ title, times, series, yLabel, threshold }: { title: string; times: number[]; series: Series[]; yLabel: string; threshold?: number }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const host = el.current;
    if (!host) return;
    const width = Math.max(280, Math.min(host.clientWidth || 800, 1100));
    const data: uPlot.AlignedData = [times, ...series.map((s) => s.values), ...(threshold !== undefined ? [times.map(() => threshold)] : [])];
    const plot = new uPlot(
      {
        title,
        width,
        height: 220,
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2 })), ...(threshold !== undefined ? [{ label: 'threshold', stroke: '#999', dash: [4, 4] }] : [])],
        axes: [{}, { label: yLabel, size: 60 }],
        legend: { show: true },
      },
      data,
      host,
    );
    return () => plot.destroy();
  }, [times, series, threshold]);
  return <div class="chart" ref={el} role="img" aria-label={title} />;
}
