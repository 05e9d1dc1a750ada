"""SQLite's text index (0012): the bulk write adds its batch's new activities to
it with one INSERT ... SELECT instead of one trigger statement per row. The insert
trigger is re-created with a WHEN clause that pauses it while the
`core_activity_fts_batch` table holds a row (only ever inside the bulk write's own
transaction; see `core.search.batch_text_index`). PostgreSQL: nothing to do."""

from django.db import migrations

from cobrowse_portal.core.search import FTS_BATCH, FTS_TABLE, SQLITE_INDEX_SQL

OLD_INSERT = (
    f"CREATE TRIGGER {FTS_TABLE}_insert AFTER INSERT ON core_activity "
    f"BEGIN INSERT INTO {FTS_TABLE}(rowid, search) VALUES (new.id, new.search); END"
)


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "sqlite":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


FORWARD = [f"DROP TRIGGER IF EXISTS {FTS_TABLE}_insert", *SQLITE_INDEX_SQL]
BACKWARD = [
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_insert",
    OLD_INSERT,
    f"DROP TABLE IF EXISTS {FTS_BATCH}",
]


class Migration(migrations.Migration):
    dependencies = [("core", "0012_activity_search_fts")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
