/** The on-call console: sign-in, navigation and the page for the current path. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, post, type Session } from './api';
import { href, interceptLinks, navigate, useLocation } from './router';
import { SessionContext, can } from './ui';
import { SignIn } from './pages/sign-in';
import { Now } from './pages/now';
import { Incidents } from './pages/incidents';
import { IncidentDetail } from './pages/incident';
import { Slos } from './pages/slos';
import { SloDetail } from './pages/slo';
import { Alerts } from './pages/alerts';
import { Oncall } from './pages/oncall';
import { Audit } from './pages/audit';
import { Settings } from './pages/settings';
import { RunDetail, Runs } from './pages/runbooks';
import { Capacity } from './pages/capacity';
import { CapacityLimit } from './pages/capacity-limit';
import './style.css';

const NAV: { path: string; label: string; permission: string }[] = [
  { path: '/now', label: 'Now', permission: 'incidents:read' },
  { path: '/incidents', label: 'Incidents', permission: 'incidents:read' },
  { path: '/slos', label: 'SLOs', permission: 'slo:read' },
  { path: '/alerts', label: 'Alerts', permission: 'incidents:read' },
  { path: '/oncall', label: 'On-call', permission: 'oncall:read' },
  { path: '/runbooks', label: 'Runbooks', permission: 'runbooks:read' },
  { path: '/capacity', label: 'Capacity', permission: 'capacity:read' },
  { path: '/audit', label: 'Audit', permission: 'audit:read' },
  { path: '/settings', label: 'Settings', permission: 'users:manage' },
];

function Content({ path }: { path: string }) {
  let m: RegExpMatchArray | null;
  if (path === '/' || path === '/now') return <Now />;
  if (path === '/incidents') return <Incidents />;
  if ((m = path.match(/^\/incidents\/([^/]+)$/))) return <IncidentDetail id={decodeURIComponent(m[1]!)} />;
  if (path === '/slos') return <Slos />;
  if ((m = path.match(/^\/slos\/([^/]+)$/))) return <SloDetail name={decodeURIComponent(m[1]!)} />;
  if (path === '/alerts') return <Alerts />;
  if (path === '/oncall') return <Oncall />;
  if (path === '/runbooks') return <Runs />;
  if ((m = path.match(/^\/runbooks\/runs\/([^/]+)$/))) return <RunDetail id={decodeURIComponent(m[1]!)} />;
  if (path === '/capacity') return <Capacity />;
  if ((m = path.match(/^\/capacity\/([^/]+)$/))) return <CapacityLimit id={decodeURIComponent(m[1]!)} />;
  if (path === '/audit') return <Audit />;
  if (path === '/settings') return <Settings />;
  return (
    <p>
      No page here. <a href={href('/now')}>Go to Now</a>.
    </p>
  );
}

function App() {
  const { path } = useLocation();
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [menu, setMenu] = useState(false);
  const load = async () => {
    try {
      setSession(await get<Session>('/v1/session'));
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 403)) setSession(null);
      else setSession(null);
    }
  };
  useEffect(() => {
    void load();
    const out = () => setSession(null);
    window.addEventListener('keel:signed-out', out);
    return () => window.removeEventListener('keel:signed-out', out);
  }, []);
  useEffect(() => setMenu(false), [path]);

  if (session === undefined)
    return (
      <main id="main">
        <p class="muted">Loading…</p>
      </main>
    );
  if (session === null || path === '/sign-in') {
    return (
      <main id="main">
        <SignIn
          onSignedIn={async () => {
            await load();
            const next = new URLSearchParams(location.search).get('next');
            navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/now', true);
          }}
        />
      </main>
    );
  }
  const who = session.user?.email ?? `key (${session.team})`;
  return (
    <SessionContext.Provider value={session}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href('/now')}>
          Keel
        </a>
        <button type="button" class="menu-toggle" aria-expanded={menu} aria-controls="nav" onClick={() => setMenu(!menu)}>
          Menu
        </button>
        <nav id="nav" class={menu ? 'open' : ''} aria-label="Pages">
          {NAV.filter((n) => can(session, n.permission)).map((n) => (
            <a href={href(n.path)} aria-current={path === n.path || (n.path !== '/now' && path.startsWith(`${n.path}/`)) || (n.path === '/now' && path === '/') ? 'page' : undefined}>
              {n.label}
            </a>
          ))}
        </nav>
        <div class="who">
          <span title={`role ${session.role ?? ''}`}>
            {who} · {session.team}
            {session.role ? ` (${session.role})` : ''}
          </span>
          {session.kind === 'user' ? (
            <button
              type="button"
              class="link"
              onClick={async () => {
                await post('/v1/auth/sign-out').catch(() => undefined);
                setSession(null);
                navigate('/sign-in', true);
              }}
            >
              Sign out
            </button>
          ) : null}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Content path={path} />
      </main>
    </SessionContext.Provider>
  );
}

interceptLinks();
render(<App />, document.getElementById('app')!);
