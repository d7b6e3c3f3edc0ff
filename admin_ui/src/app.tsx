import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import { closeSocket, request, setCsrfToken, setSessionEndedHandler } from "./api";
import { markSeen, startFeed, stopFeed, useFeed } from "./feed";
import { setViewerTimeZone } from "./format";
import { graphql } from "./gql";
import { Link, match, navigate, usePath } from "./router";
import { SessionContext, useSession, ViewerDoc, type Session, type Viewer } from "./session";
import { SignIn, SignUp } from "./screens/auth";
import { AccountSettings } from "./screens/account";
import { CampaignPage, Campaigns } from "./screens/campaigns";
import { Catalogue } from "./screens/catalogue";
import { Deals } from "./screens/deals";
import { Deliveries } from "./screens/deliveries";
import { Funds, LedgerCheck } from "./screens/funds";
import { Pipeline } from "./screens/pipeline";
import { WorkspaceSetup } from "./screens/workspace";
import { ImportPage, Imports } from "./screens/imports";
import { Registration } from "./screens/registration";
import { Reports } from "./screens/reports";
import { Returns } from "./screens/returns";
import { LiveFeed } from "./screens/feed";
import { LeadPage, Leads } from "./screens/leads";
import { Overview } from "./screens/overview";
import { Partners } from "./screens/partners";
import { Profile } from "./screens/profile";
import { Sources } from "./screens/sources";
import { Tokens } from "./screens/tokens";
import { UserPage, Users } from "./screens/users";
import { ErrorBox, Loading, PageTitle } from "./ui/common";

const SignOutDoc = graphql(`
  mutation SignOut {
    signOut {
      signedOut
      userErrors {
        field
        code
        message
      }
    }
  }
`);

const SwitchAccountDoc = graphql(`
  mutation SwitchAccount($input: SwitchAccountInput!) {
    switchAccount(input: $input) {
      csrfToken
      userErrors {
        field
        code
        message
      }
    }
  }
`);

type Route = { pattern: string; render: (p: Record<string, string>) => ComponentChildren };
type NavItem = { to: string; label: string; ownerOnly?: boolean };

const PARTNER_NAV: NavItem[] = [
  { to: "/", label: "Overview" },
  { to: "/feed", label: "Live feed" },
  { to: "/leads", label: "Leads" },
  { to: "/pipeline", label: "Pipeline" },
  { to: "/deals", label: "Lead Deals" },
  { to: "/campaigns", label: "Campaigns" },
  { to: "/funds", label: "Funds", ownerOnly: true },
  { to: "/returns", label: "Returns" },
  { to: "/reports", label: "All Reports" },
  { to: "/deliveries", label: "Deliveries" },
  { to: "/users", label: "Users" },
  { to: "/workspace", label: "Workspace set-up", ownerOnly: true },
  { to: "/account", label: "Company" },
  { to: "/tokens", label: "API tokens" },
  { to: "/profile", label: "Your profile" },
];

const OPERATOR_NAV: NavItem[] = [
  { to: "/", label: "Partners" },
  { to: "/catalogue", label: "Catalogue" },
  { to: "/leads", label: "Leads" },
  { to: "/returns", label: "Return review" },
  { to: "/reports", label: "All Reports" },
  { to: "/ledger-check", label: "Ledger check" },
  { to: "/feed", label: "Live feed" },
  { to: "/campaigns", label: "Campaigns" },
  { to: "/deliveries", label: "Deliveries" },
  { to: "/sources", label: "Lead sources" },
  { to: "/users", label: "Staff" },
  { to: "/account", label: "Account" },
  { to: "/tokens", label: "API tokens" },
  { to: "/profile", label: "Your profile" },
];

const COMMON_ROUTES: Route[] = [
  { pattern: "/feed", render: () => <LiveFeed /> },
  { pattern: "/leads", render: () => <Leads /> },
  { pattern: "/leads/:id", render: (p) => <LeadPage id={p.id} /> },
  { pattern: "/campaigns", render: () => <Campaigns /> },
  { pattern: "/campaigns/:id/:tab?", render: (p) => <CampaignPage id={p.id} tab={p.tab ?? "global"} /> },
  { pattern: "/deliveries", render: () => <Deliveries /> },
  { pattern: "/returns", render: () => <Returns /> },
  { pattern: "/reports", render: () => <Reports /> },
  { pattern: "/users", render: () => <Users /> },
  { pattern: "/users/:id", render: (p) => <UserPage id={p.id} /> },
  { pattern: "/tokens", render: () => <Tokens /> },
  { pattern: "/profile", render: () => <Profile /> },
  { pattern: "/account", render: () => <AccountSettings /> },
];

const PARTNER_ROUTES: Route[] = [
  { pattern: "/", render: () => <Overview /> },
  { pattern: "/deals", render: () => <Deals /> },
  { pattern: "/funds", render: () => <Funds /> },
  { pattern: "/pipeline", render: () => <Pipeline /> },
  { pattern: "/workspace", render: () => <WorkspaceSetup /> },
  { pattern: "/import", render: () => <Imports /> },
  { pattern: "/import/:id", render: (p) => <ImportPage id={p.id} /> },
  { pattern: "/registration", render: () => <Registration /> },
  ...COMMON_ROUTES,
];

const OPERATOR_ROUTES: Route[] = [
  { pattern: "/", render: () => <Partners /> },
  { pattern: "/partners", render: () => <Partners /> },
  { pattern: "/catalogue", render: () => <Catalogue /> },
  { pattern: "/sources", render: () => <Sources /> },
  { pattern: "/ledger-check", render: () => <LedgerCheck /> },
  ...COMMON_ROUTES,
];

export function App() {
  const [viewer, setViewer] = useState<Viewer | null | undefined>(undefined);
  const [bootError, setBootError] = useState<string | null>(null);
  const [ended, setEnded] = useState<string | null>(null);
  const { path } = usePath();

  const load = useCallback(async () => {
    setBootError(null);
    try {
      const v = (await request(ViewerDoc)).viewer;
      if (v) setViewerTimeZone(v.user.timeZone);
      setViewer(v ?? null);
    } catch (e) {
      setBootError((e as Error).message);
    }
  }, []);

  useEffect(() => {
    setSessionEndedHandler((message) => {
      setEnded(message);
      setCsrfToken(null);
      closeSocket();
      stopFeed();
      setViewer(null);
    });
    void load();
  }, [load]);

  // Screen readers: after the first page, a navigation moves focus to the new page's title.
  useEffect(() => {
    const mark = () => (document.body.dataset.navigated = "1");
    window.addEventListener("popstate", mark);
    document.addEventListener("click", mark, { capture: true });
    return () => {
      window.removeEventListener("popstate", mark);
      document.removeEventListener("click", mark, { capture: true });
    };
  }, []);

  if (bootError) {
    return (
      <main id="main" class="auth-page">
        <div class="auth-card">
          <h1>Leadwire</h1>
          <ErrorBox message={bootError} retry={() => void load()} />
        </div>
      </main>
    );
  }
  if (viewer === undefined) {
    return (
      <main id="main" class="auth-page">
        <Loading />
      </main>
    );
  }
  if (viewer === null) {
    const signedIn = () => {
      setEnded(null);
      void load().then(() => {
        const next = new URLSearchParams(window.location.search).get("next");
        navigate(next && next.startsWith("/") ? next : "/", { replace: true });
      });
    };
    if (path === "/signup") return <SignUp onSignedIn={signedIn} />;
    if (path !== "/login") {
      const next = path + window.location.search;
      history.replaceState(null, "", `/admin/login${path === "/" ? "" : `?next=${encodeURIComponent(next)}`}`);
    }
    return <SignIn onSignedIn={signedIn} notice={ended} />;
  }
  return <Shell viewer={viewer} reload={load} onSignedOut={() => setViewer(null)} />;
}

function Shell({ viewer, reload, onSignedOut }: { viewer: Viewer; reload: () => Promise<void>; onSignedOut: () => void }) {
  const { path } = usePath();
  const [menuOpen, setMenuOpen] = useState(false);
  const isOperator = viewer.account.kind === "OPERATOR";
  const feed = useFeed();

  useEffect(() => {
    startFeed();
    return () => {
      stopFeed();
      closeSocket();
    };
  }, [viewer.account.id, viewer.user.id]);

  useEffect(() => {
    setMenuOpen(false);
    if (path === "/feed") markSeen();
  }, [path]);

  const session: Session = useMemo(
    () => ({
      viewer,
      isOperator,
      isOwner: viewer.user.isOwner,
      refresh: reload,
      signOut: async () => {
        try {
          await request(SignOutDoc);
        } finally {
          setCsrfToken(null);
          stopFeed();
          closeSocket();
          navigate("/login", { replace: true });
          onSignedOut();
        }
      },
      switchAccount: async (accountId: string) => {
        const r = (await request(SwitchAccountDoc, { input: { accountId } })).switchAccount;
        if (r.userErrors.length) return r.userErrors.map((e) => e.message).join(" ");
        setCsrfToken(r.csrfToken ?? null);
        stopFeed();
        closeSocket();
        navigate("/", { replace: true });
        await reload();
        return null;
      },
    }),
    [viewer, reload],
  );

  const routes = isOperator ? OPERATOR_ROUTES : PARTNER_ROUTES;
  let content: ComponentChildren = null;
  for (const r of routes) {
    const params = match(r.pattern, path);
    if (params) {
      content = r.render(params);
      break;
    }
  }
  if (content === null) {
    if (path === "/login" || path === "/signup") {
      navigate("/", { replace: true });
    }
    content = (
      <>
        <PageTitle>Page not found</PageTitle>
        <p>
          There is no page at this address. <Link to="/">Go to the start page</Link>.
        </p>
      </>
    );
  }
  const nav = (isOperator ? OPERATOR_NAV : PARTNER_NAV).filter((n) => !n.ownerOnly || viewer.user.isOwner);
  const active = (to: string) => (to === "/" ? path === "/" || path === "/partners" : path === to || path.startsWith(to + "/"));

  return (
    <SessionContext.Provider value={session}>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <button
          type="button"
          class="menu-toggle"
          aria-expanded={menuOpen ? "true" : "false"}
          aria-controls="nav"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          Menu
        </button>
        <Link to="/" class="brand">
          Leadwire
        </Link>
        <span class="account-kind">{isOperator ? "Operator" : "Partner"}</span>
        <AccountSwitcher />
        <div class="topbar-right">
          <Link to="/feed" class={`live ${feed.state}`}>
            <span class="dot" aria-hidden="true" />
            <span class="live-label">Live</span>
            <span class="visually-hidden"> feed ({feed.state})</span>
            {feed.unseen > 0 && (
              <span class="count-bubble">
                {feed.unseen}
                <span class="visually-hidden"> new</span>
              </span>
            )}
          </Link>
          <Link to="/profile" class="who">
            {viewer.user.name}
          </Link>
          <button type="button" class="link-button" onClick={() => void session.signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <div class="layout">
        <nav id="nav" class={menuOpen ? "open" : ""} aria-label="Main">
          <ul>
            {nav.map((n) => (
              <li key={n.to}>
                <Link to={n.to} aria-current={active(n.to) ? "page" : undefined}>
                  {n.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main" tabIndex={-1}>
          {content}
        </main>
      </div>
    </SessionContext.Provider>
  );
}

function AccountSwitcher() {
  const { viewer, switchAccount } = useSession();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (viewer.accounts.length < 2) return <span class="account-name">{viewer.account.name}</span>;
  return (
    <div class="account-switcher">
      <label for="account-switch" class="visually-hidden">
        Account
      </label>
      <select
        id="account-switch"
        value={viewer.account.id}
        disabled={busy}
        onChange={async (e) => {
          const id = (e.currentTarget as HTMLSelectElement).value;
          setBusy(true);
          try {
            setError(await switchAccount(id));
          } catch (err) {
            setError((err as Error).message);
          } finally {
            setBusy(false);
          }
        }}
      >
        {viewer.accounts.map((a) => (
          <option key={a.account.id} value={a.account.id}>
            {a.account.name} ({a.account.kind === "OPERATOR" ? "operator" : "partner"})
          </option>
        ))}
      </select>
      {error && (
        <span class="field-error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}
