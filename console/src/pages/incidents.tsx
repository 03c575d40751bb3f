/**
 * The incident queue: filters (state, severity, service, team) in the URL, one page at a time
 * (the API's cursor), keyboard shortcuts j/k (move), a (acknowledge), r (resolve), Enter (open).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, post, qs } from '../api';
import { href, navigate, setQuery, useLocation } from '../router';
import { Badge, ErrorBox, Loading, Page, ago, can, useData, useSession } from '../ui';

const PAGE = 50;

export function Incidents() {
  const s = useSession();
  const { query } = useLocation();
  const state = query.get('state') ?? 'open';
  const severity = query.get('severity') ?? '';
  const service = query.get('service') ?? '';
  const cursor = query.get('cursor') ?? '';
  const list = useData(() => get(`/v1/incidents${qs({ state, severity, service, limit: PAGE, cursor })}`), [state, severity, service, cursor]);
  const [sel, setSel] = useState(0);
  const [msg, setMsg] = useState<string | undefined>(undefined);
  const rows = (list.data?.incidents ?? []) as any[];
  const rowsRef = useRef(rows);
  rowsRef.current = rows;
  const selRef = useRef(sel);
  selRef.current = sel;
  const respond = can(s, 'incidents:respond');

  useEffect(() => setSel(0), [state, severity, service, cursor]);
  useEffect(() => {
    const act = async (what: 'ack' | 'resolve') => {
      const i = rowsRef.current[selRef.current];
      if (!i || !respond) return;
      try {
        await post(`/v1/incidents/${encodeURIComponent(i.id)}/${what}`, {});
        setMsg(`#${i.number} ${what === 'ack' ? 'acknowledged' : 'resolved'}`);
        await list.reload();
      } catch (e) {
        setMsg(`#${i.number}: ${(e as Error).message}`);
      }
    };
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (e.metaKey || e.ctrlKey || e.altKey || t.closest('input, textarea, select')) return;
      const n = rowsRef.current.length;
      if (e.key === 'j') setSel((x) => Math.min(n - 1, x + 1));
      else if (e.key === 'k') setSel((x) => Math.max(0, x - 1));
      else if (e.key === 'a') void act('ack');
      else if (e.key === 'r') void act('resolve');
      else if (e.key === 'Enter' && t === document.body) {
        const i = rowsRef.current[selRef.current];
        if (i) navigate(href(`/incidents/${encodeURIComponent(i.id)}`));
      } else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [respond]);
  useEffect(() => {
    document.querySelector(`[data-row="${sel}"]`)?.scrollIntoView?.({ block: 'nearest' });
  }, [sel]);

  return (
    <Page title="Incidents">
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <label>
          State{' '}
          <select value={state} onChange={(e) => setQuery({ state: (e.target as HTMLSelectElement).value, cursor: undefined })}>
            {['open', 'triggered', 'acknowledged', 'mitigated', 'resolved', 'closed', 'all'].map((v) => (
              <option value={v}>{v}</option>
            ))}
          </select>
        </label>
        <label>
          Severity{' '}
          <select value={severity} onChange={(e) => setQuery({ severity: (e.target as HTMLSelectElement).value, cursor: undefined })}>
            <option value="">any</option>
            {['SEV1', 'SEV2', 'SEV3', 'SEV4'].map((v) => (
              <option value={v}>{v}</option>
            ))}
          </select>
        </label>
        <label>
          Service <input value={service} size={14} onChange={(e) => setQuery({ service: (e.target as HTMLInputElement).value, cursor: undefined })} />
        </label>
        <label>
          Team <input value={query.get('team') ?? s.team} size={10} onChange={(e) => setQuery({ team: (e.target as HTMLInputElement).value, cursor: undefined })} />
        </label>
      </form>
      <p class="muted small">
        Keys: <kbd>j</kbd>/<kbd>k</kbd> move, <kbd>Enter</kbd> open
        {respond ? (
          <>
            , <kbd>a</kbd> acknowledge, <kbd>r</kbd> resolve
          </>
        ) : null}
        . Updates every few seconds.
      </p>
      {msg ? <p role="status">{msg}</p> : null}
      <ErrorBox error={list.error} />
      {!list.data ? (
        <Loading what="incidents" />
      ) : rows.length === 0 ? (
        <p class="muted">No incidents match.</p>
      ) : (
        // Scrolls inside its region on a phone, not the whole page.
        <div class="scroll" tabIndex={0} role="region" aria-label="Incident queue">
          <table class="queue">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Title</th>
                <th scope="col">Severity</th>
                <th scope="col">State</th>
                <th scope="col" class="hide-narrow">
                  Service
                </th>
                <th scope="col">Opened</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((i, n) => (
                <tr data-row={n} aria-selected={n === sel} class={n === sel ? 'selected' : ''} onClick={() => setSel(n)}>
                  <td>{i.number}</td>
                  <td>
                    <a href={href(`/incidents/${encodeURIComponent(i.id)}`)}>{i.title}</a>
                    {i.paged_nobody ? (
                      <>
                        {' '}
                        <Badge text="paged nobody" tone="bad" />
                      </>
                    ) : null}
                  </td>
                  <td>
                    <Badge text={i.severity} />
                  </td>
                  <td>
                    <Badge text={i.state} />
                  </td>
                  <td class="hide-narrow">{i.service ?? '—'}</td>
                  <td>{ago(i.opened_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pager" aria-label="Pages of incidents">
        {cursor ? (
          <button type="button" onClick={() => setQuery({ cursor: undefined })}>
            Newest
          </button>
        ) : null}
        {list.data?.next_cursor ? (
          <button type="button" onClick={() => setQuery({ cursor: list.data.next_cursor })}>
            Older
          </button>
        ) : null}
      </nav>
    </Page>
  );
}
