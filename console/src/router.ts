/** A small router over the History API: pages are real paths, so deep links and reloads work. */
import { useEffect, useState } from 'preact/hooks';

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  window.dispatchEvent(new Event('keel:navigate'));
}

export function useLocation(): { path: string; query: URLSearchParams } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const on = () => setTick((t) => t + 1);
    window.addEventListener('popstate', on);
    window.addEventListener('keel:navigate', on);
    return () => {
      window.removeEventListener('popstate', on);
      window.removeEventListener('keel:navigate', on);
    };
  }, []);
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

/** Same-origin links navigate without a reload (modifier clicks open new tabs as usual). */
export function interceptLinks(): void {
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element | null)?.closest?.('a');
    if (!a || a.target || a.hasAttribute('download')) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/v1/')) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
  });
}

/** Sets (or removes) query parameters of the current URL: filters live in the URL. */
export function setQuery(changes: Record<string, string | undefined>): void {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === '') q.delete(k);
    else q.set(k, v);
  }
  const s = q.toString();
  navigate(location.pathname + (s ? `?${s}` : ''), true);
}

/** Keeps `?team=` on links inside the console. */
export function href(path: string): string {
  const team = new URLSearchParams(location.search).get('team');
  if (!team) return path;
  return path + (path.includes('?') ? '&' : '?') + `team=${encodeURIComponent(team)}`;
}
