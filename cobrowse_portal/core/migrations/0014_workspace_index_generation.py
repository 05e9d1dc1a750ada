"""The control-room page cache's write generation (`core.pagecache`).

`Workspace.index_generation` is read with the workspace on every request; every
write the cached pages show adds one to it in the writer's own transaction. The
activity index's write path does so in Python (`vendorkit.activity`); sync runs
and kept writes, which many call sites write (`save()`, `update()`, `create()`),
through triggers, so no writer can forget it."""

from django.db import migrations, models

TABLES = ("core_syncrun", "core_pendingwrite")
BUMP = (
    "UPDATE core_workspace SET index_generation = index_generation + 1 "
    "WHERE id IN (SELECT workspace_id FROM core_vendoraccount WHERE id = {})"
)


def _sqlite_forward():
    out = []
    for table in TABLES:
        for event, row in (("INSERT", "new"), ("UPDATE", "new"), ("DELETE", "old")):
            name = f"{table}_generation_{event.lower()}"
            out.append(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} "
                f"BEGIN {BUMP.format(f'{row}.account_id')}; END"
            )
    return out


PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION core_generation_by_account() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    {BUMP.format("OLD.account_id")};
  ELSE
    {BUMP.format("NEW.account_id")};
  END IF;
  RETURN NULL;
END
$$ LANGUAGE plpgsql
"""


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for sql in _sqlite_forward():
            schema_editor.execute(sql)
    elif vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION)
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_generation AFTER INSERT OR UPDATE OR DELETE "
                f"ON {table} FOR EACH ROW EXECUTE FUNCTION "
                "core_generation_by_account()"
            )


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                schema_editor.execute(
                    f"DROP TRIGGER IF EXISTS {table}_generation_{event}"
                )
    elif vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(
                f"DROP TRIGGER IF EXISTS {table}_generation ON {table}"
            )
        schema_editor.execute("DROP FUNCTION IF EXISTS core_generation_by_account()")


class Migration(migrations.Migration):
    dependencies = [("core", "0013_activity_search_fts_batch")]

    operations = [
        migrations.AddField(
            model_name="workspace",
            name="index_generation",
            field=models.BigIntegerField(default=0, db_default=0, editable=False),
        ),
        migrations.RunPython(forward, backward),
    ]
