"""A brake's window is at most 30 days (a longer one overflowed the window's start: a 500
on every deactivation); the membership changes list sorts by time along an index."""

import django.core.validators
from django.db import migrations, models


def window() -> models.PositiveIntegerField:
    return models.PositiveIntegerField(
        blank=True, help_text="Empty: SCIM_PORTAL['BRAKE_WINDOW_MINUTES'].", null=True,
        validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(43200)],
        verbose_name="window (minutes)",
    )


class Migration(migrations.Migration):

    dependencies = [
        ("scim_portal", "0014_rate_limit_counters"),
    ]

    operations = [
        migrations.AlterField(model_name="deprovisioningbrake", name="window_minutes", field=window()),
        migrations.AlterField(model_name="historicaldeprovisioningbrake", name="window_minutes", field=window()),
        migrations.AddIndex(
            model_name="membershipchange",
            index=models.Index(fields=["-created", "-id"], name="scim_membership_created"),
        ),
    ]
