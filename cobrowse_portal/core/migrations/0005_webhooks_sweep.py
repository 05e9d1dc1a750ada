"""SyncRun.heartbeat_at (the sweeper fails runs whose worker stopped) and the fixed
beat entry of `core.sweep`, every minute."""

from django.db import migrations, models


def add_sweeper(apps, schema_editor):
    from cobrowse_portal.core.schedules import ensure_sweeper

    ensure_sweeper(
        apps.get_model("django_celery_beat", "PeriodicTask"),
        apps.get_model("django_celery_beat", "IntervalSchedule"),
    )


def remove_sweeper(apps, schema_editor):
    from cobrowse_portal.core.schedules import SWEEP_NAME

    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name=SWEEP_NAME
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_pending_write_order"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AddField(
            model_name="syncrun",
            name="heartbeat_at",
            field=models.DateTimeField(
                blank=True,
                help_text="Last sign of life of the running worker.",
                null=True,
            ),
        ),
        migrations.RunPython(add_sweeper, remove_sweeper),
    ]
