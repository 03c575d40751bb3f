/** Pieces the capacity list and a limit's page share: numbers, utilisation, trend and the exhaustion band. */
import { Badge, pct } from '../ui';

export function num(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  const a = Math.abs(v);
  const p = (x: number) => Number(x.toPrecision(3)).toString();
  if (a >= 1e9) return `${p(v / 1e9)}G`;
  if (a >= 1e6) return `${p(v / 1e6)}M`;
  if (a >= 1e3) return `${p(v / 1e3)}k`;
  return p(v);
}

const day = (iso: string | null) => (iso ? iso.slice(0, 16).replace('T', ' ') : '?');

export function trendText(l: any): string {
  return l.trendPerDay === null ? '—' : `${l.trendPerDay >= 0 ? '+' : ''}${num(l.trendPerDay)}${l.unit ? ` ${l.unit}` : ''}/day`;
}

export function Utilisation({ limit: l }: { limit: any }) {
  if (l.utilisation === null) return <span class="muted">no capacity</span>;
  const p = l.utilisation * 100;
  return (
    <>
      <span class={p >= 95 ? 'bad' : p >= 80 ? 'warn' : ''}>{pct(p, 1)}</span>
      <meter min={0} max={100} value={Math.min(100, p)} aria-label={`utilisation of ${l.id}`} />
    </>
  );
}

/** When the limit runs out: the central forecast with its band, or why there is none (UTC). */
export function ExhaustionText({ limit: l }: { limit: any }) {
  const e = l.exhaustion;
  if (e.status === 'exhausted') return <Badge text="at capacity now" tone="bad" />;
  if (e.status === 'forecast') {
    return (
      <span data-testid="exhaustion">
        <strong class={(e.secondsToExhaustion ?? Infinity) < 3 * 86_400 ? 'bad' : 'warn'}>{day(e.at)} UTC</strong>
        <span class="muted small">
          {' '}
          (band {day(e.earliest)} – {e.latest === null ? 'beyond the horizon' : day(e.latest)})
        </span>
      </span>
    );
  }
  if (e.status === 'not_before') return <span data-testid="exhaustion">not before {day(e.notBefore)} UTC</span>;
  return (
    <span class="muted" data-testid="exhaustion">
      {e.reason ?? 'no forecast'}
    </span>
  );
}
