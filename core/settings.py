"""Configuration from the environment.

Every setting is read and checked once, at start-up. A wrong value raises
:class:`ConfigError` naming the setting and what was expected; the CLI prints
that one line and exits, so an operator never has to read a traceback.
Secrets are kept in :class:`Secret` so that printing or logging the settings
never shows them.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


class ConfigError(Exception):
    """A configuration value is missing or wrong. ``str()`` is one clear line."""

    def __init__(self, setting: str, problem: str):
        self.setting = setting
        self.problem = problem
        super().__init__(f"{setting}: {problem}")


class Secret:
    """A string that never shows itself in repr/str (logs, tracebacks, --help)."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and secrets.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self._value)


ENVIRONMENTS = ("development", "production", "test")


@dataclass(frozen=True)
class Settings:
    database_url: Secret
    broker_url: Secret | None
    secret_key: Secret
    environment: str = "development"
    plugins_file: Path = Path("plugins.toml")
    db_pool_max: int = 20
    introspection: bool = True
    graphiql: bool = True
    allowed_origins: tuple[str, ...] = ()
    session_days: int = 14
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    login_max_failures_per_email: int = 20
    login_max_failures_per_ip: int = 100
    max_page_size: int = 100
    query_cost_max: int = 1000  # points one query may cost (0: no cost limits at all)
    query_budget: int = 20000  # points in each client's bucket (0: no budget)
    query_budget_restore_rate: float = 1000.0  # points a second the bucket refills
    max_body_bytes: int = 1024 * 1024  # request bodies (the CSV upload route has its own limit)
    allow_private_networks: bool = False  # outgoing HTTP to loopback/private/link-local addresses (tests, demo)
    require_partner_approval: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.reveal().startswith("sqlite:")

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def embedded_worker(self) -> bool:
        """No broker named: jobs run in the server process (embedded default)."""
        return self.broker_url is None

    def describe(self) -> dict[str, str]:
        """Settings safe to print: URLs with their passwords removed."""
        return {
            "environment": self.environment,
            "database": redact_url(self.database_url.reveal()),
            "broker": redact_url(self.broker_url.reveal()) if self.broker_url else "in-process",
            "plugins_file": str(self.plugins_file),
            "db_pool_max": str(self.db_pool_max),
            "introspection": str(self.introspection).lower(),
            "graphiql": str(self.graphiql).lower(),
        }


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(name, f"expected true or false, got {raw!r}")


def _int(env: dict[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"expected a whole number from {lo} to {hi}, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(name, f"expected a whole number from {lo} to {hi}, got {value}")
    return value


def _database_url(env: dict[str, str], cwd: Path) -> str:
    raw = env.get("LEADWIRE_DATABASE_URL") or f"sqlite://{cwd / 'leadwire.sqlite3'}"
    scheme = raw.split(":", 1)[0]
    if scheme == "postgresql":
        raw = "postgres" + raw[len("postgresql"):]
        scheme = "postgres"
    if scheme not in ("sqlite", "postgres", "asyncpg"):
        raise ConfigError(
            "LEADWIRE_DATABASE_URL",
            f"expected sqlite:///path/to/file.sqlite3 or postgres://user@host:port/db, got scheme {scheme!r}",
        )
    if scheme == "sqlite":
        # WAL is tortoise's default; add a busy timeout so that a second
        # process (worker, migrate) waits for the write lock instead of failing.
        if "busy_timeout" not in raw:
            raw += ("&" if "?" in raw else "?") + "busy_timeout=10000"
    else:
        parts = urlsplit(raw)
        if not parts.hostname or not parts.path.strip("/"):
            raise ConfigError(
                "LEADWIRE_DATABASE_URL",
                "expected postgres://user[:password]@host[:port]/database with a host and a database name",
            )
    return raw


def _broker_url(env: dict[str, str]) -> str | None:
    raw = env.get("LEADWIRE_BROKER_URL") or None
    if raw is None:
        return None
    scheme = raw.split(":", 1)[0]
    if scheme not in ("redis", "rediss", "amqp", "amqps"):
        raise ConfigError(
            "LEADWIRE_BROKER_URL",
            f"expected redis://host:port/db or amqp://user:password@host:port/vhost, got scheme {scheme!r}",
        )
    return raw


def _secret_key(env: dict[str, str], environment: str, cwd: Path) -> str:
    raw = env.get("LEADWIRE_SECRET_KEY")
    if raw:
        if len(raw) < 32:
            raise ConfigError("LEADWIRE_SECRET_KEY", "expected at least 32 characters of random text")
        return raw
    if environment == "production":
        raise ConfigError(
            "LEADWIRE_SECRET_KEY",
            "is required in production: set it to at least 32 random characters "
            "(python -c 'import secrets; print(secrets.token_urlsafe(48))')",
        )
    # Development: a key kept beside the embedded database so sessions
    # survive restarts without anyone having to configure anything.
    key_file = cwd / ".leadwire-secret-key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def _budget(env: dict[str, str], cost_max: int) -> int:
    value = _int(env, "LEADWIRE_QUERY_BUDGET", 20000, 0, 100_000_000)
    if value and value < cost_max:
        raise ConfigError(
            "LEADWIRE_QUERY_BUDGET",
            f"must hold at least one maximal query (LEADWIRE_QUERY_COST_MAX = {cost_max}), got {value}",
        )
    return value


def load_settings(env: dict[str, str] | None = None, cwd: Path | None = None) -> Settings:
    """Read and check every setting; raise ConfigError on the first bad one."""
    env = dict(os.environ if env is None else env)
    cwd = cwd or Path.cwd()
    environment = (env.get("LEADWIRE_ENV") or "development").strip().lower()
    if environment not in ENVIRONMENTS:
        raise ConfigError("LEADWIRE_ENV", f"expected one of {', '.join(ENVIRONMENTS)}, got {environment!r}")
    production = environment == "production"
    plugins_file = Path(env.get("LEADWIRE_PLUGINS_FILE") or cwd / "plugins.toml")
    origins = tuple(o.strip() for o in (env.get("LEADWIRE_ALLOWED_ORIGINS") or "").split(",") if o.strip())
    for origin in origins:
        if not origin.startswith(("http://", "https://")):
            raise ConfigError("LEADWIRE_ALLOWED_ORIGINS", f"expected comma-separated http(s) origins, got {origin!r}")
    return Settings(
        database_url=Secret(_database_url(env, cwd)),
        broker_url=Secret(b) if (b := _broker_url(env)) else None,
        secret_key=Secret(_secret_key(env, environment, cwd)),
        environment=environment,
        plugins_file=plugins_file,
        db_pool_max=_int(env, "LEADWIRE_DB_POOL_MAX", 20, 1, 1000),
        introspection=_bool(env, "LEADWIRE_INTROSPECTION", not production),
        graphiql=_bool(env, "LEADWIRE_GRAPHIQL", not production),
        allowed_origins=origins,
        session_days=_int(env, "LEADWIRE_SESSION_DAYS", 14, 1, 365),
        login_max_failures=_int(env, "LEADWIRE_LOGIN_MAX_FAILURES", 5, 1, 1000),
        login_lockout_minutes=_int(env, "LEADWIRE_LOGIN_LOCKOUT_MINUTES", 15, 1, 24 * 60),
        login_max_failures_per_email=_int(env, "LEADWIRE_LOGIN_MAX_FAILURES_PER_EMAIL", 20, 1, 100000),
        login_max_failures_per_ip=_int(env, "LEADWIRE_LOGIN_MAX_FAILURES_PER_IP", 100, 1, 100000),
        max_page_size=_int(env, "LEADWIRE_MAX_PAGE_SIZE", 100, 1, 1000),
        query_cost_max=(cost_max := _int(env, "LEADWIRE_QUERY_COST_MAX", 1000, 0, 10_000_000)),
        query_budget=_budget(env, cost_max),
        query_budget_restore_rate=float(_int(env, "LEADWIRE_QUERY_BUDGET_RESTORE_RATE", 1000, 1, 10_000_000)),
        max_body_bytes=_int(env, "LEADWIRE_MAX_BODY_BYTES", 1024 * 1024, 16 * 1024, 100 * 1024 * 1024),
        allow_private_networks=_bool(env, "LEADWIRE_ALLOW_PRIVATE_NETWORKS", False),
        require_partner_approval=_bool(env, "LEADWIRE_REQUIRE_PARTNER_APPROVAL", False),
    )
