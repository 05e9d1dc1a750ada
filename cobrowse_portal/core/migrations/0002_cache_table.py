"""Create the database cache table when the cache is the database (the embedded
default), so a fresh `migrate` is all a new install needs."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    if schema_editor.connection.alias == "default":
        call_command("createcachetable", database="default", verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
