from tortoise import migrations
from tortoise.migrations import operations as ops


async def make_unlogged(apps, schema_editor) -> None:
    # Query budgets are charged on every request. A logged table made every
    # charge wait for the WAL flush while holding its row (~3 ms here), which
    # serialised a client's concurrent requests; an unlogged one commits
    # without the flush (~0.15 ms). After a crash PostgreSQL empties it: every
    # client starts with a full bucket, which is harmless. SQLite has no such
    # thing (and no flush per statement in WAL mode).
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script('ALTER TABLE "query_budget" SET UNLOGGED')


async def make_logged(apps, schema_editor) -> None:
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script('ALTER TABLE "query_budget" SET LOGGED')


class Migration(migrations.Migration):
    dependencies = [('leadwire', '0010_security')]

    initial = False

    operations = [
        ops.RunPython(make_unlogged, make_logged),
    ]
