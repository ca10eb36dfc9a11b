"""Rate-limit counters incremented atomically in the database, for hosts whose
``RATE_LIMIT_CACHE`` is a ``DatabaseCache`` (its ``incr`` is not atomic)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("scim_portal", "0013_audit_console"),
    ]

    operations = [
        migrations.CreateModel(
            name="RateCounter",
            fields=[
                ("name", models.CharField(max_length=150, primary_key=True, serialize=False, verbose_name="name")),
                ("period_start", models.BigIntegerField(verbose_name="window start (Unix seconds)")),
                ("hits", models.PositiveIntegerField(verbose_name="requests in the window")),
            ],
            options={
                "verbose_name": "rate-limit counter",
                "verbose_name_plural": "rate-limit counters",
            },
        ),
    ]
