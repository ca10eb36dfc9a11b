"""An ``(integration, outcome, -created)`` index on the provisioning log for the health view.

The integration page and list show each integration's last success, last
error and failures in the last 24 hours; with this index each is a short
range scan, however many million rows the log holds.  Built ``CONCURRENTLY``
on PostgreSQL (see scim_portal.db), so the migration is not atomic.
"""

from django.db import migrations, models

from scim_portal.db import AddIndexConcurrently


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ("scim_portal", "0010_integration_provider_dialect_choices"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="provisioninglog",
            index=models.Index(fields=["integration", "outcome", "-created"], name="scim_log_integration_outcome"),
        ),
    ]
