"""Trigram index on `Activity.search` (PostgreSQL only): the free-text search's
ILIKE '%x%' reads it instead of scanning the index table. SQLite has no such
index; the README says what it does instead."""

from django.db import migrations


def add_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS core_act_search_trgm "
        "ON core_activity USING gin (search gin_trgm_ops)"
    )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS core_act_search_trgm")


class Migration(migrations.Migration):
    dependencies = [("core", "0008_activity_write_path")]

    operations = [migrations.RunPython(add_trigram_index, drop_trigram_index)]
