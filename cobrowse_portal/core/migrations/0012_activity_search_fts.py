"""A text index over every `Activity.search` on SQLite: an FTS5 table with the
trigram tokenizer (SQLite 3.34+), external content (it stores only the index, not
a second copy of the text), kept by triggers, so every writer (the bulk write, a
directory rename, `update_rows`, a delete) keeps it true without Python code.
The statements live in `core.search`, whose post_migrate handler re-creates them
after any later migration that remakes `core_activity` (which drops triggers).
The free-text search reads candidate ids from it and checks them with the same
substring test as before (README "The control room"). PostgreSQL has the
trigram GIN index of 0009 instead."""

from django.db import migrations

from cobrowse_portal.core.search import FTS_TABLE, SQLITE_INDEX_SQL

DROP = [
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_insert",
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_delete",
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_update",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "sqlite":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("core", "0011_activity_agent_index")]

    operations = [migrations.RunPython(_run(SQLITE_INDEX_SQL), _run(DROP))]
