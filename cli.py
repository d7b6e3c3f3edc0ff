"""The `leadwire` command line.

A wrong setting or a broken plugin ends any command with one line naming the
setting (or plugin and key) and what was expected, and exit status 2; never a
traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import secrets
import sys
from collections.abc import Awaitable, Callable

from leadwire import __version__
from leadwire.core.settings import ConfigError, Settings, load_settings

EXIT_CONFIG = 2
EXIT_CHECK_FAILED = 1


def _fail(message: str, code: int = EXIT_CONFIG) -> int:
    print(f"leadwire: error: {message}", file=sys.stderr)
    return code


def _load_plugins(settings: Settings):
    from leadwire.plugins.manager import load_plugins

    return load_plugins(settings.plugins_file)


async def _with_db(settings: Settings, fn: Callable[[], Awaitable[int]]) -> int:
    from leadwire.core import db

    await db.init_db(settings)
    try:
        return await fn()
    finally:
        await db.close_db()


async def _preflight_database(settings: Settings) -> int:
    """Migrate the embedded database; refuse an unmigrated PostgreSQL one with the
    reason, before uvicorn starts (the lifespan checks again for other servers)."""
    from leadwire.app import DatabaseNotMigrated, open_database
    from leadwire.core import db

    try:
        await open_database(settings)
    except DatabaseNotMigrated as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"LEADWIRE_DATABASE_URL: cannot connect to the database: {exc}")
    await db.close_db()
    return 0


# -- commands ----------------------------------------------------------------------


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    _load_plugins(settings)  # fail fast on a broken plugin, before binding the port
    if args.demo:
        code = cmd_demo(settings, argparse.Namespace(leads=120, quiet=True))
    else:
        code = asyncio.run(_preflight_database(settings))
    if code:
        return code
    from leadwire.admin_ui.build import ensure_built

    admin_ui = ensure_built()
    where = f"inherited socket {args.fd}" if args.fd is not None else f"http://{args.host}:{args.port}"
    print(f"Leadwire {__version__} on {where}/graphql  ({_describe(settings)})", flush=True)
    if admin_ui:
        print(f"Admin UI on {where}/admin", flush=True)
    uvicorn.run(
        "leadwire.app:app_from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        fd=args.fd,
        reload=args.reload,
        workers=None if args.reload else args.workers,
        log_level=args.log_level,
        lifespan="on",
        proxy_headers=True,
    )
    return 0


def _describe(settings: Settings) -> str:
    d = settings.describe()
    return f"database {d['database']}, jobs {d['broker']}, {d['environment']}"


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    if settings.broker_url is None:
        return _fail(
            "LEADWIRE_BROKER_URL: `leadwire worker` needs a broker (redis://... or amqp://...); "
            "without one, `leadwire serve` runs jobs in-process"
        )
    _load_plugins(settings)
    from leadwire.core.jobs.worker import run_worker

    return run_worker(settings, processes=args.processes, threads=args.threads)


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from leadwire.core import db

    async def run() -> int:
        applied = await db.migrate()
        print(f"applied {len(applied)} migration(s): {', '.join(applied)}" if applied else "database is up to date")
        return 0

    return asyncio.run(_with_db(settings, run))


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from leadwire.core import db
    from leadwire.core.demo import DEMO_PASSWORD, create_demo

    _load_plugins(settings)

    async def run() -> int:
        await db.migrate()
        summary = await create_demo(leads_per_account=args.leads)
        if summary.created:
            print(f"demo data created: {summary.accounts} accounts, {summary.users} users, {summary.leads} leads")
        elif not args.quiet:
            print("demo data already present; nothing changed")
        print(f"sign in with any of these (password: {DEMO_PASSWORD}):")
        for role, email in summary.logins:
            print(f"  {role:<32} {email}")
        return 0

    return asyncio.run(_with_db(settings, run))


def cmd_createuser(settings: Settings, args: argparse.Namespace) -> int:
    from leadwire.core import identity
    from leadwire.core.access import Viewer
    from leadwire.core.errors import DomainError
    from leadwire.core.models.identity import Account, AccountKind, Membership

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("Password (leave empty to generate one): ")
    else:
        password = ""
    generated = not password
    password = password or secrets.token_urlsafe(12)

    async def run() -> int:
        kind = AccountKind.OPERATOR if args.operator else AccountKind.PARTNER
        account_name = args.account or ("Marketplace operator" if args.operator else None)
        if not account_name:
            return _fail("--account: name the partner account (or pass --operator)")
        account = await Account.get_or_none(name=account_name, kind=kind)
        try:
            if account is None:
                account, _ = await identity.create_account(
                    kind=kind, name=account_name, owner_email=args.email, owner_name=args.name,
                    owner_password=password, owner_time_zone=args.time_zone,
                )
                role = "owner of the new account"
            else:
                owner = await Membership.get(account_id=account.id, owner_slot=1).select_related("person", "account")
                await identity.create_user(
                    Viewer.from_membership(owner), email=args.email, name=args.name,
                    time_zone=args.time_zone, password=password,
                )
                role = "user"
        except DomainError as exc:
            for e in exc.errors:
                print(f"leadwire: error: {e.field or 'input'}: {e.message}", file=sys.stderr)
            return EXIT_CONFIG
        print(f"created {args.email} as {role} of {account.name!r} ({kind.value})")
        if generated:
            print(f"password (shown once): {password}")
        return 0

    return asyncio.run(_with_db(settings, run))


def cmd_plugins(settings: Settings, args: argparse.Namespace) -> int:
    plugins = _load_plugins(settings)
    described = plugins.describe()
    if not described:
        print("no plugins loaded")
    for p in described:
        print(f"{p['name']}  ({p['source']})")
        print(f"  hooks: {', '.join(p['hooks']) or '-'}")
        for key, value in (p.get("settings") or {}).items():
            print(f"  {key} = {value}")
    return 0


def cmd_check(settings: Settings, args: argparse.Namespace) -> int:
    from leadwire.core import db

    problems: list[str] = []
    print(f"settings: ok ({_describe(settings)})")
    try:
        plugins = _load_plugins(settings)
        print(f"plugins: ok ({len(plugins.loaded())} loaded)")
    except Exception as exc:  # the plugin manager's errors are one-line and specific
        problems.append(f"plugins: {exc}")

    async def run() -> int:
        try:
            pending = await db.pending_migrations()
        except Exception as exc:
            problems.append(f"database: cannot be reached or read: {exc.__class__.__name__}: {exc}")
            return 0
        if pending:
            problems.append(f"database: {len(pending)} unapplied migration(s) ({', '.join(pending)}): run `leadwire migrate`")
            return 0
        print("database: ok (reachable, migrations applied)")
        from leadwire.core import ledger

        report = await ledger.verify()  # every account: balance = sum of its ledger entries
        if report.ok:
            print(f"ledger: ok ({report.accounts_checked} accounts: each balance is the sum of its entries)")
        for problem in report.problems:
            problems.append(f"ledger: {problem.describe()}")
        return 0

    asyncio.run(_with_db(settings, run))
    for p in problems:
        print(f"leadwire: check failed: {p}", file=sys.stderr)
    return EXIT_CHECK_FAILED if problems else 0


# -- parser ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leadwire",
        description="Leadwire: a lead marketplace and lead-management platform. "
        "Configuration comes from LEADWIRE_* environment variables and plugins.toml (see README).",
    )
    parser.add_argument("--version", action="version", version=f"leadwire {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", help="run the web server (GraphQL API and admin UI)",
                       description="Run the server. On the embedded default (no LEADWIRE_DATABASE_URL / "
                       "LEADWIRE_BROKER_URL) it uses ./leadwire.sqlite3, migrates it, and runs jobs in-process.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.add_argument("--fd", type=int, default=None,
                   help="serve on this already-listening socket instead of --host/--port (a supervisor's or "
                   "systemd's socket activation): connections wait in its backlog until the server is up")
    p.add_argument("--reload", action="store_true", help="restart when code changes (development)")
    p.add_argument("--workers", type=int, default=1, help="API processes (default 1); each runs its own sweeper")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"],
                   help="server log level (default info)")
    p.add_argument("--demo", action="store_true", help="create the demo data first if it is not there")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="run job workers on the broker (scale-out mode)",
                       description="Run dramatiq worker processes that execute jobs from LEADWIRE_BROKER_URL.")
    p.add_argument("--processes", type=int, default=os.cpu_count() or 1, help="worker processes (default: CPU count)")
    p.add_argument("--threads", type=int, default=8, help="worker threads per process (default 8)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("migrate", help="apply pending database migrations (safe to repeat)")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("demo", help="create realistic demo data (safe to repeat)")
    p.add_argument("--leads", type=int, default=120, help="leads per partner account (default 120)")
    p.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("createuser", help="create a user (and their account if it does not exist)",
                       description="Create a user. A new account gets the user as its owner; an existing "
                       "account gets the user added by its owner. The password is read from a prompt, "
                       "from stdin with --password-stdin, or generated and shown once.")
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--account", help="partner account name")
    p.add_argument("--operator", action="store_true", help="a marketplace operator staff user")
    p.add_argument("--time-zone", default="UTC", help="IANA time zone (default UTC)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.set_defaults(func=cmd_createuser)

    p = sub.add_parser("plugins", help="list loaded plugins, the hooks each implements and their settings")
    p.set_defaults(func=cmd_plugins)

    p = sub.add_parser("check", help="validate configuration, plugins and database state (non-zero exit on a problem)")
    p.set_defaults(func=cmd_check)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from leadwire.core import logsafety

    logsafety.install()  # secrets and PII masked in every log record (server and worker)
    logging.getLogger("tortoise").setLevel(logging.WARNING)
    # httpx logs every request's full URL at INFO; a buyer's webhook URL can
    # carry a token, and one line per delivery is noise.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        settings = load_settings()
    except ConfigError as exc:
        sys.exit(_fail(str(exc)))
    try:
        code = args.func(settings, args)
    except ConfigError as exc:
        code = _fail(str(exc))
    except Exception as exc:
        from leadwire.app import DatabaseNotMigrated

        from leadwire.plugins.config import PluginError

        if not isinstance(exc, (DatabaseNotMigrated, PluginError)):
            raise
        code = _fail(str(exc))
    sys.exit(code)
