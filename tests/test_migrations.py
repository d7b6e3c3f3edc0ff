"""The committed migrations build exactly the schema the models describe."""

import subprocess
import sys
from pathlib import Path

from tortoise import Tortoise

from leadwire.core import db as lwdb
from leadwire.core.settings import load_settings

from conftest import TEST_SECRET

ROOT = Path(__file__).resolve().parent.parent


def test_models_have_no_unmigrated_changes():
    """The autodetector finds nothing to write: every model change has a migration."""
    code = "import asyncio; from leadwire.core.db import unmigrated_model_changes as u; print(asyncio.run(u()))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"run `tortoise -c leadwire.core.db.MIGRATIONS_CONFIG makemigrations`: {out.stdout}"


async def test_migrate_is_idempotent_on_a_fresh_file_database(tmp_path):
    settings = load_settings(
        {"LEADWIRE_DATABASE_URL": f"sqlite://{tmp_path / 'm.sqlite3'}", "LEADWIRE_SECRET_KEY": TEST_SECRET},
        cwd=tmp_path,
    )
    from tortoise.context import TortoiseContext

    async with TortoiseContext() as ctx:
        await ctx.init(config=lwdb.tortoise_config(settings.database_url.reveal()))
        assert await lwdb.pending_migrations() == ["leadwire.0001_initial"]
        assert await lwdb.migrate() == ["leadwire.0001_initial"]
        assert await lwdb.migrate() == []
        conn = ctx.connections.get("default")
        _, rows = await conn.execute_query("SELECT name FROM sqlite_master WHERE type='table'")
        tables = {r["name"] for r in rows}
        model_tables = {m._meta.db_table for m in ctx.apps["leadwire"].values()}
        assert model_tables <= tables
        _, rows = await conn.execute_query("PRAGMA journal_mode")
        assert rows[0][0] == "wal"
        _, rows = await conn.execute_query("PRAGMA busy_timeout")
        assert rows[0][0] == 10000
