import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { ApiClient } from './api/api-client';
import { ApiProblem } from './api/problem';
import type { CallerAccess, GatewayInfo, Me, User, Verb } from './api/types';
import { AuthSession, CALLBACK_PATH, startLogin } from './auth/auth-session';
import { ProblemNote } from './components/problem-note';
import { ConsoleContext, useConsole, type ConsoleContextValue } from './context';
import { asProblem } from './hooks';
import { AgentsPage } from './pages/agents.page';
import { AuditPage } from './pages/audit.page';
import { ConnectionPage } from './pages/connection.page';
import { ConnectionsPage } from './pages/connections.page';
import { OverviewPage } from './pages/overview.page';
import { PolicyPage } from './pages/policy.page';
import { QueryPage } from './pages/query.page';
import { ReviewsPage } from './pages/reviews.page';
import { SessionPage } from './pages/session.page';
import { SessionsPage } from './pages/sessions.page';
import { Link, matchPath, navigate, useLocation } from './router';

type Boot =
  | { kind: 'starting' }
  | { kind: 'signed-out'; message?: string; problem?: ApiProblem }
  | { kind: 'signed-in'; session: AuthSession };

/** Signs in (or picks up this tab's login), then shows the console. */
let booting: Promise<Boot> | undefined;

export function App() {
  const [boot, setBoot] = useState<Boot>({ kind: 'starting' });
  useEffect(() => {
    // Once per page load: a login code can be redeemed only once.
    const start = async (): Promise<Boot> => {
      if (location.pathname === CALLBACK_PATH) {
        try {
          const { session, returnTo } = await AuthSession.complete(new URL(location.href));
          navigate(returnTo, { replace: true });
          return { kind: 'signed-in', session };
        } catch (error) {
          navigate('/', { replace: true });
          return { kind: 'signed-out', problem: asProblem(error) };
        }
      }
      const session = await AuthSession.restore();
      return session ? { kind: 'signed-in', session } : { kind: 'signed-out' };
    };
    booting ??= start();
    void booting.then(setBoot);
  }, []);
  useEffect(() => {
    if (boot.kind !== 'signed-in') return;
    return boot.session.onEnded((message) => setBoot({ kind: 'signed-out', message }));
  }, [boot]);

  if (boot.kind === 'starting') {
    return (
      <main className="center" id="main">
        <p role="status">Signing in…</p>
      </main>
    );
  }
  if (boot.kind === 'signed-out') return <SignIn message={boot.message} problem={boot.problem} />;
  return <SignedIn session={boot.session} />;
}

function SignIn({ message, problem }: { message?: string; problem?: ApiProblem }) {
  const [pending, setPending] = useState(false);
  useEffect(() => {
    document.title = 'Sign in · Tollgate';
  }, []);
  const signIn = () => {
    setPending(true);
    const returnTo = location.pathname + location.search;
    startLogin(returnTo).catch(() => setPending(false));
  };
  return (
    <main className="center sign-in" id="main">
      <div className="card sign-in-card">
        <p className="brand-large" aria-hidden="true">
          Tollgate
        </p>
        <h1>Sign in to the Tollgate console</h1>
        <p className="muted">You sign in with your organisation's identity provider.</p>
        {message ? (
          <p className="note" role="status">
            {message}
          </p>
        ) : null}
        <ProblemNote problem={problem} />
        <button type="button" className="primary" onClick={signIn} disabled={pending}>
          {pending ? 'Redirecting…' : 'Sign in'}
        </button>
      </div>
    </main>
  );
}

interface Loaded {
  readonly me: Me;
  readonly access: CallerAccess;
  readonly gateway: GatewayInfo;
}

function SignedIn({ session }: { session: AuthSession }) {
  const api = useMemo(() => new ApiClient(session), [session]);
  const [loaded, setLoaded] = useState<Loaded>();
  const [problem, setProblem] = useState<ApiProblem>();
  const [names, setNames] = useState<Map<string, string>>(new Map());

  const namesFetchedAt = useRef(0);
  /** People's names for `user:<id>` subjects (admins may read the user list; others see ids). */
  const loadNames = useCallback(async () => {
    namesFetchedAt.current = Date.now();
    const users = await api.get<{ items: User[] }>('/api/v1/users').catch(() => ({ items: [] as User[] }));
    setNames(new Map(users.items.map((u) => [`user:${u.id}`, u.email ?? u.displayName ?? u.subject])));
  }, [api]);

  const load = useCallback(async () => {
    try {
      const [me, access, gateway] = await Promise.all([
        api.get<Me>('/api/v1/me'),
        api.get<CallerAccess>('/api/v1/me/access'),
        api.get<GatewayInfo>('/api/v1/gateway'),
      ]);
      setLoaded({ me, access, gateway });
      if (access.verbs.includes('admin')) await loadNames();
    } catch (error) {
      setProblem(asProblem(error));
    }
  }, [api, loadNames]);
  useEffect(() => {
    void load();
  }, [load]);

  const value = useMemo<ConsoleContextValue | undefined>(() => {
    if (!loaded) return undefined;
    const own = new Map(names);
    own.set(loaded.me.subject, loaded.me.displayName);
    return {
      api,
      auth: session,
      ...loaded,
      can: (verb: Verb) => loaded.access.verbs.includes(verb),
      reloadAccess: async () => {
        const access = await api.get<CallerAccess>('/api/v1/me/access');
        setLoaded((l) => (l ? { ...l, access } : l));
      },
      nameOf: (subject: string) => {
        const name = own.get(subject);
        if (name) return name;
        // Someone who signed in since the list was read: read it again, at most every 10 s.
        if (
          subject.startsWith('user:') &&
          loaded.access.verbs.includes('admin') &&
          Date.now() - namesFetchedAt.current > 10_000
        ) {
          namesFetchedAt.current = Date.now();
          setTimeout(() => void loadNames(), 0);
        }
        return subject;
      },
    };
  }, [api, session, loaded, names, loadNames]);

  if (problem) {
    return (
      <main className="center" id="main">
        <h1>The console could not start</h1>
        <ProblemNote problem={problem} />
        <button type="button" onClick={() => void load()}>
          Try again
        </button>
      </main>
    );
  }
  if (!value) {
    return (
      <main className="center" id="main">
        <p role="status">Loading…</p>
      </main>
    );
  }
  return (
    <ConsoleContext.Provider value={value}>
      <Shell />
    </ConsoleContext.Provider>
  );
}

interface NavItem {
  readonly path: string;
  readonly label: string;
  readonly allowed: (c: ConsoleContextValue) => boolean;
}

const NAV: readonly NavItem[] = [
  { path: '/', label: 'Overview', allowed: () => true },
  {
    path: '/query',
    label: 'Query',
    allowed: (c) => c.access.connections.some((x) => x.verbs.includes('exec')),
  },
  { path: '/connections', label: 'Connections', allowed: (c) => c.can('admin') },
  { path: '/agents', label: 'Agents', allowed: (c) => c.can('admin') },
  { path: '/policy', label: 'Policy', allowed: (c) => c.can('admin') },
  { path: '/sessions', label: 'Sessions', allowed: (c) => c.can('audit:read') },
  { path: '/reviews', label: 'Reviews', allowed: () => true },
  { path: '/audit', label: 'Audit', allowed: (c) => c.can('audit:read') },
];

interface RouteDef {
  readonly pattern: string;
  readonly needs?: Verb;
  readonly render: (params: Record<string, string>) => ReactNode;
}

const ROUTES: readonly RouteDef[] = [
  { pattern: '/', render: () => <OverviewPage /> },
  { pattern: '/query', render: () => <QueryPage /> },
  { pattern: '/connections', needs: 'admin', render: () => <ConnectionsPage /> },
  { pattern: '/connections/:name', needs: 'admin', render: (p) => <ConnectionPage name={p['name']!} /> },
  { pattern: '/agents', needs: 'admin', render: () => <AgentsPage /> },
  { pattern: '/policy', needs: 'admin', render: () => <PolicyPage /> },
  { pattern: '/sessions', needs: 'audit:read', render: () => <SessionsPage /> },
  { pattern: '/sessions/:id', needs: 'audit:read', render: (p) => <SessionPage id={p['id']!} /> },
  { pattern: '/reviews', render: () => <ReviewsPage /> },
  { pattern: '/audit', needs: 'audit:read', render: () => <AuditPage /> },
];

function Shell() {
  const context = useConsole();
  const { path } = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  useEffect(() => {
    setMenuOpen(false);
    // A route change is a new page for assistive technology: move focus to its content.
    if (first.current) first.current = false;
    else main.current?.focus();
  }, [path]);

  let page: ReactNode = (
    <div>
      <h1>Page not found</h1>
      <p>
        Nothing lives at <code>{path}</code>. <Link to="/">Go to the overview</Link>.
      </p>
    </div>
  );
  for (const route of ROUTES) {
    const params = matchPath(route.pattern, path);
    if (!params) continue;
    page =
      route.needs && !context.can(route.needs) ? (
        <div>
          <h1>Not available to you</h1>
          <p>
            This page needs the <code>{route.needs}</code> verb, which the policy does not give you.
          </p>
        </div>
      ) : (
        route.render(params)
      );
    break;
  }
  const items = NAV.filter((item) => item.allowed(context));
  const isCurrent = (item: NavItem) => (item.path === '/' ? path === '/' : path.startsWith(item.path));
  return (
    <div className="layout">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          Tollgate
        </Link>
        <button
          type="button"
          className="menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="primary-nav"
          onClick={() => setMenuOpen((open) => !open)}
        >
          Menu
        </button>
        <div className="user">
          <span className="user-name" title={context.me.subject}>
            {context.me.displayName}
          </span>
          <button type="button" className="button-small" onClick={() => void context.auth.logout()}>
            Sign out
          </button>
        </div>
      </header>
      <nav id="primary-nav" aria-label="Main" className={menuOpen ? 'nav open' : 'nav'}>
        <ul>
          {items.map((item) => (
            <li key={item.path}>
              <Link to={item.path} aria-current={isCurrent(item) ? 'page' : undefined}>
                {item.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" ref={main} tabIndex={-1}>
        {page}
      </main>
    </div>
  );
}
