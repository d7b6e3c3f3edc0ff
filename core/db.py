"""Database set-up: tortoise config, connect/close, migrations.

The schema always comes from the committed migrations in core/migrations
(`leadwire migrate`); ``generate_schemas`` is used only by the test fixtures,
and a test checks that the migrations build the same schema as the models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from typing import Any

from pypika_tortoise import Table
from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.executor import MigrationExecutor

from leadwire.core.models import MODEL_MODULES
from leadwire.core.settings import Settings

APP_LABEL = "leadwire"
MIGRATIONS_MODULE = "leadwire.core.migrations"


async def _keep_session(connection) -> None:
    """The pool's reset when a connection goes back: nothing more to do.

    asyncpg's default sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL`` on every release, i.e. one more round trip per
    statement (7% of a lead list's CPU, plus the server's). Leadwire keeps no
    session state on pooled connections: no SET, LISTEN, cursors or session
    advisory locks (row locks and transaction-scoped locks only). asyncpg still
    rolls back a transaction left open before calling this."""


def tortoise_config(database_url: str, *, pool_max: int = 20) -> dict[str, Any]:
    connection: str | dict[str, Any] = database_url
    if not database_url.startswith("sqlite:"):
        connection = expand_db_url(database_url)
        credentials = connection["credentials"]
        credentials.setdefault("maxsize", pool_max)
        credentials.setdefault("minsize", 1)
        if connection["engine"] == "tortoise.backends.asyncpg":
            credentials["reset"] = _keep_session
    return {
        "connections": {"default": connection},
        "apps": {
            APP_LABEL: {
                "models": list(MODEL_MODULES),
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


# For `tortoise -c leadwire.core.db.MIGRATIONS_CONFIG makemigrations` (developers
# only): the autodetector compares models with the committed migrations and
# needs no real database.
MIGRATIONS_CONFIG = tortoise_config("sqlite://:memory:")


async def init_db(settings: Settings, *, global_fallback: bool = False) -> None:
    """Connect the ORM. ``global_fallback`` is needed when requests run in other
    tasks than the one that initialised it (uvicorn's lifespan)."""
    await Tortoise.init(
        config=tortoise_config(settings.database_url.reveal(), pool_max=settings.db_pool_max),
        _enable_global_fallback=global_fallback,
    )


async def close_db() -> None:
    await Tortoise.close_connections()


async def _executor() -> MigrationExecutor:
    from tortoise.connection import get_connection

    config = tortoise_config("sqlite://:memory:")
    return MigrationExecutor(get_connection("default"), {APP_LABEL: config["apps"][APP_LABEL]})


async def pending_migrations() -> list[str]:
    """Names of the committed migrations not yet applied to the connected database."""
    executor = await _executor()
    return [f"{step.migration.app_label}.{step.migration.name}" for step in await executor.plan()]


async def migrate() -> list[str]:
    """Apply every pending migration (idempotent); return the names applied."""
    pending = await pending_migrations()
    if pending:
        executor = await _executor()
        await executor.migrate()
    return pending


async def unmigrated_model_changes() -> list[str]:
    """Names of the migrations `makemigrations` would write now (empty = models and
    migrations agree). Runs in its own ORM context, so call it from a fresh process."""
    from tortoise.cli.cli import tortoise_cli_context
    from tortoise.migrations.autodetector import MigrationAutodetector

    config = tortoise_config("sqlite://:memory:")
    async with tortoise_cli_context(config) as ctx:
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    return [f"{w.app_label}.{w.name}" for w in writers]


_INSERT_SQL: dict[tuple[str, str, tuple[str, ...]], str] = {}


async def insert_rows(conn, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert plain tuples in one batch on ``conn`` (a transaction or the
    connection): for hot paths writing many rows of a narrow table, where
    building one ORM object per row costs more than the write. Columns are
    database column names; Python-side defaults are not applied, so pass
    every NOT NULL column."""
    if not rows:
        return
    dialect = conn.capabilities.dialect
    key = (dialect, table, columns)
    sql = _INSERT_SQL.get(key)
    if sql is None:
        marks = (
            ", ".join(f"${i}" for i in range(1, len(columns) + 1))
            if dialect == "postgres"
            else ", ".join("?" for _ in columns)
        )
        names = ", ".join(f'"{c}"' for c in columns)
        sql = _INSERT_SQL[key] = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'
    await conn.execute_many(sql, [list(r) for r in rows])


class Statement:
    """One SQL statement of a hot path, written once with PostgreSQL's ``$n``
    placeholders (SQLite runs it with ``?n``, which may repeat the same way).
    Through the ORM a conditional update costs ~0.26 ms of Python to build
    and run; the same statement as text ~0.08 ms. The money paths (a sale is
    about ten statements) use these for their guards and writes; what each
    guard says stays in the function that runs it."""

    __slots__ = ("postgres", "sqlite")

    def __init__(self, sql: str):
        self.postgres = sql
        self.sqlite = re.sub(r"\$(\d+)", r"?\1", sql)

    def text(self, conn) -> str:
        return self.postgres if conn.capabilities.dialect == "postgres" else self.sqlite

    async def rows_changed(self, conn, *values) -> int:
        """Run an UPDATE / INSERT / DELETE; how many rows it changed."""
        count, _ = await conn.execute_query(self.text(conn), list(values))
        return count

    async def returning(self, conn, *values) -> list[dict]:
        """Run a statement with RETURNING (or a SELECT); its rows."""
        return await conn.execute_query_dict(self.text(conn), list(values))


class PlainRow:
    """A row read for display: the model's attributes, no ORM behaviour."""

    def __repr__(self) -> str:
        return f"PlainRow({self.__dict__!r})"


@dataclass(frozen=True)
class JoinedOne:
    """A row of another table read with each plain row in the same statement:
    ``model``'s row whose ``on`` column (unique) holds the page row's primary
    key, LEFT JOINed, its ``fields`` read as a PlainRow at ``attribute`` (None
    when there is no such row). E.g. a buyer's lead and its sale: one round
    trip for a page instead of two."""

    model: type
    on: str
    attribute: str
    fields: tuple[str, ...]


def _converters(meta, attributes=None, prefix: str = "") -> tuple[list, list, list]:
    """The model's columns as (record key, attribute, field), split as the ORM
    converts them: as the driver gives them, through the field's type, or
    through ``to_python_value``."""
    def keep(entries):
        return [(prefix + key, attribute, field) for key, attribute, field in entries
                if attributes is None or attribute in attributes]

    return keep(meta.db_native_fields), keep(meta.db_default_fields), keep(meta.db_complex_fields)


def _plain(record, converters) -> PlainRow:
    native, plain, converted = converters
    values_by_attribute = {attribute: record[key] for key, attribute, _ in native}
    for key, attribute, field in plain:
        value = record[key]
        values_by_attribute[attribute] = value if value is None else field.field_type(value)
    for key, attribute, field in converted:
        values_by_attribute[attribute] = field.to_python_value(record[key])
    row = object.__new__(PlainRow)
    row.__dict__ = values_by_attribute
    return row


async def plain_rows(qs, *, joined: JoinedOne | None = None) -> list:
    """The rows of ``qs`` (a tortoise QuerySet of one model) with every column
    converted exactly as the ORM converts it, as PlainRow objects instead of
    models: building a model costs ~15 µs a row, and a page of 50 leads is
    read on every list request. For read-only paths that use attributes only.
    A queryset narrowed with ``.only(...)`` reads and converts those fields
    only. A queryset that fetches related rows or annotations is run by the
    ORM (and cannot take ``joined``)."""
    if qs._select_related or qs._prefetch_map or qs._prefetch_queries or qs._annotations:
        if joined is not None:
            raise ValueError("plain_rows: joined needs a plain queryset")
        return list(await qs)
    qs._choose_db_if_not_chosen()
    qs._make_query()
    query = qs.query
    meta = qs.model._meta
    if joined is not None:
        # Aliased, so that its columns never clash with the page's or with a
        # join the queryset's own filters made.
        other = joined.model._meta
        table = Table(other.db_table, alias="_joined")
        query = query.left_join(table).on(table[other.fields_db_projection[joined.on]] == meta.basetable[meta.db_pk_column])
        columns = [other.fields_db_projection[name] for name in joined.fields]
        query = query.select(table[other.fields_db_projection[joined.on]].as_("_joined__on"),
                             *(table[column].as_(f"_joined_{column}") for column in columns))
        joined_converters = _converters(other, set(joined.fields), prefix="_joined_")
    sql, values = query.get_parameterized_sql()
    _, records = await qs._db.execute_query(sql, values)
    converters = _converters(meta, set(qs._fields_for_select) if qs._fields_for_select else None)
    rows = [_plain(record, converters) for record in records]
    if joined is not None:
        for row, record in zip(rows, records):
            setattr(row, joined.attribute,
                    None if record["_joined__on"] is None else _plain(record, joined_converters))
    return rows


# -- the database going away -----------------------------------------------------------------

UNAVAILABLE_MESSAGE = (
    "The database is unavailable right now: try again in a few seconds. "
    "A retry is safe (send the same idempotency key where the mutation takes one)."
)


def _connection_errors() -> tuple[type[BaseException], ...]:
    kinds: list[type[BaseException]] = [ConnectionError]  # refused, reset, aborted; tortoise's DBConnectionError
    try:
        import asyncpg.exceptions as pg
    except ImportError:  # SQLite-only installs
        return tuple(kinds)
    # The server went away (or is starting up / shutting down), or our connection to it did.
    kinds += [pg.PostgresConnectionError, pg.CannotConnectNowError, pg.AdminShutdownError, pg.CrashShutdownError]
    return tuple(kinds)


def _closed_connection(exc: BaseException) -> bool:
    # asyncpg's InterfaceError is also raised for misuse (a bug): only a closed connection counts.
    return type(exc).__name__ == "InterfaceError" and "closed" in str(exc)


def unavailable(exc: BaseException | None) -> bool:
    """True when ``exc`` (or what caused it) means the database cannot be
    reached: the request should fail with "unavailable, try again" (HTTP 503),
    not as an unexpected error. The one place this is decided."""
    kinds = _connection_errors()
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, kinds) or _closed_connection(exc):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def log_failure(log, what: str) -> None:
    """In an ``except`` block of a loop that retries (sweepers, tailers): one
    warning line while the database is unavailable, a traceback otherwise."""
    import sys

    exc = sys.exc_info()[1]
    if unavailable(exc):
        log.warning("%s: a connection is down (%s: %s), retrying", what, type(exc).__name__, str(exc)[:200])
    else:
        log.exception(what)
