"""VendorAccount.data_changed_at: when the account's activities last changed, kept
by the index writes (vendorkit.activity.index_rows), read by the "no new data"
alert instead of a scan of every activity. Filled once from the index."""

from django.db import migrations, models
from django.db.models import Max


def fill(apps, schema_editor):
    Activity = apps.get_model("core", "Activity")
    VendorAccount = apps.get_model("core", "VendorAccount")
    using = schema_editor.connection.alias
    newest = (
        Activity.objects.using(using)
        .values("account_id")
        .annotate(newest=Max("updated_at"))
        .values_list("account_id", "newest")
    )
    for account_id, at in newest:
        VendorAccount.objects.using(using).filter(pk=account_id).update(
            data_changed_at=at
        )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0015_webhook_reconciliation"),
    ]

    operations = [
        migrations.AddField(
            model_name="vendoraccount",
            name="data_changed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
