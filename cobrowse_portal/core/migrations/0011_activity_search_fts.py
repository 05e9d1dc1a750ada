"""A text index over every `Activity.search` on SQLite: an FTS5 table with the
trigram tokenizer (SQLite 3.34+), external content (it stores only the index, not
a second copy of the text), kept by triggers, so every writer (the bulk write, a
directory rename, `update_rows`, a delete) keeps it true without Python code.
The free-text search reads candidate ids from it and checks them with the same
substring test as before (README "The control room"). PostgreSQL has the
trigram GIN index of 0009 instead."""

from django.db import migrations

TABLE = "core_activity_fts"

CREATE = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5(search, "
    "content='core_activity', content_rowid='id', tokenize='trigram')",
    # External content: the index must be told the old text to forget it.
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_insert AFTER INSERT ON core_activity "
    f"BEGIN INSERT INTO {TABLE}(rowid, search) VALUES (new.id, new.search); END",
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_delete AFTER DELETE ON core_activity "
    f"BEGIN INSERT INTO {TABLE}({TABLE}, rowid, search) "
    "VALUES ('delete', old.id, old.search); END",
    # The bulk write's upsert sets `search` on every row it touches; only a
    # changed text costs an index update.
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_update AFTER UPDATE OF search "
    "ON core_activity WHEN old.search IS NOT new.search "
    f"BEGIN INSERT INTO {TABLE}({TABLE}, rowid, search) "
    "VALUES ('delete', old.id, old.search); "
    f"INSERT INTO {TABLE}(rowid, search) VALUES (new.id, new.search); END",
    # Rows written before this migration.
    f"INSERT INTO {TABLE}({TABLE}) VALUES ('rebuild')",
]

DROP = [
    f"DROP TRIGGER IF EXISTS {TABLE}_insert",
    f"DROP TRIGGER IF EXISTS {TABLE}_delete",
    f"DROP TRIGGER IF EXISTS {TABLE}_update",
    f"DROP TABLE IF EXISTS {TABLE}",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "sqlite":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("core", "0010_activity_write_indexes")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP))]
