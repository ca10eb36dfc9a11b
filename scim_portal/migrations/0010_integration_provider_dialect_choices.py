"""Integration.provider takes its choices from a callable: the built-in providers plus the
host's dialects in SCIM_PORTAL["DIALECTS"], so registering a dialect needs no migration."""

from django.db import migrations, models

import scim_portal.models.integration


class Migration(migrations.Migration):

    dependencies = [
        ("scim_portal", "0009_fold_lookalike_names"),
    ]

    operations = [
        migrations.AlterField(
            model_name="historicalintegration",
            name="provider",
            field=models.CharField(
                choices=scim_portal.models.integration.provider_choices, default="generic", max_length=20,
                verbose_name="identity provider",
            ),
        ),
        migrations.AlterField(
            model_name="integration",
            name="provider",
            field=models.CharField(
                choices=scim_portal.models.integration.provider_choices, default="generic", max_length=20,
                verbose_name="identity provider",
            ),
        ),
    ]
