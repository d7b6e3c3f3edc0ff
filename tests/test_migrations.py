"""The committed migrations build exactly the schema the models describe."""

import subprocess
import uuid
import sys
from pathlib import Path

from leadwire.core import db as lwdb
from leadwire.core.settings import load_settings

from conftest import POSTGRES_URL, drop_postgres_database, separate_database, TEST_SECRET, service_skip

ROOT = Path(__file__).resolve().parent.parent


def test_models_have_no_unmigrated_changes():
    """The autodetector finds nothing to write: every model change has a migration."""
    code = "import asyncio; from leadwire.core.db import unmigrated_model_changes as u; print(asyncio.run(u()))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"run `tortoise -c leadwire.core.db.MIGRATIONS_CONFIG makemigrations`: {out.stdout}"


async def _migrate_twice_and_compare(url: str, tmp_path) -> None:
    """Apply the migrations to an empty database twice (the second run is a
    no-op) and check every model table and index column exists."""
    settings = load_settings({"LEADWIRE_DATABASE_URL": url, "LEADWIRE_SECRET_KEY": TEST_SECRET}, cwd=tmp_path)
    try:
        async with separate_database(settings.database_url.reveal(), create=url.startswith("postgres")) as ctx:
            everything = sorted(f"leadwire.{m.stem}" for m in (ROOT / "core" / "migrations").glob("0*.py"))
            assert everything[:2] == ["leadwire.0001_initial", "leadwire.0002_delivery"]
            assert await lwdb.pending_migrations() == everything
            assert await lwdb.migrate() == everything
            assert await lwdb.migrate() == []
            assert await lwdb.pending_migrations() == []
            conn = ctx.connections.get("default")
            models = list(ctx.apps["leadwire"].values())
            for model in models:
                table = model._meta.db_table
                columns = {f.source_field or name for name, f in model._meta.fields_map.items() if f.has_db_field}
                if url.startswith("sqlite"):
                    _, rows = await conn.execute_query(f'PRAGMA table_info("{table}")')
                    actual = {r["name"] for r in rows}
                    # SQLite takes an unknown "column" in CREATE INDEX as a string
                    # literal: check every index really names columns.
                    _, idx = await conn.execute_query(f'PRAGMA index_list("{table}")')
                    for index in idx:
                        _, cols = await conn.execute_query(f'PRAGMA index_info("{index["name"]}")')
                        assert all(c["name"] in actual for c in cols), (table, index["name"], [c["name"] for c in cols])
                else:
                    _, rows = await conn.execute_query(
                        "SELECT column_name FROM information_schema.columns WHERE table_name = $1", [table]
                    )
                    actual = {r["column_name"] for r in rows}
                assert columns <= actual, (table, columns - actual)
            if not url.startswith("sqlite"):
                # Only the query budgets skip the WAL (migration 0011): losing them in a crash is harmless.
                _, rows = await conn.execute_query(
                    "SELECT relname FROM pg_class WHERE relpersistence = 'u' AND relkind = 'r'"
                )
                assert [r["relname"] for r in rows] == ["query_budget"]
    finally:
        if url.startswith("postgres"):
            await drop_postgres_database(url)


async def test_migrations_on_a_fresh_sqlite_file(tmp_path):
    await _migrate_twice_and_compare(f"sqlite://{tmp_path / 'm.sqlite3'}", tmp_path)
    async with separate_database(f"sqlite://{tmp_path / 'm.sqlite3'}?busy_timeout=10000") as ctx:
        conn = ctx.connections.get("default")
        _, rows = await conn.execute_query("PRAGMA journal_mode")
        assert rows[0][0] == "wal"
        _, rows = await conn.execute_query("PRAGMA busy_timeout")
        assert rows[0][0] == 10000


async def test_migrations_on_a_fresh_postgres_database(tmp_path):
    if not POSTGRES_URL:
        service_skip("PostgreSQL migration test: set LEADWIRE_TEST_POSTGRES_URL")
    await _migrate_twice_and_compare(POSTGRES_URL.replace("{}", "mig_{}").format(uuid.uuid4().hex[:12]), tmp_path)
