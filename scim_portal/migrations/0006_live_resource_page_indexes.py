"""Partial indexes for the pages and counts of live (not deleted) SCIM users and groups.

Safe on big existing tables: on PostgreSQL the indexes are built with
``CREATE INDEX CONCURRENTLY``, which does not block writes while it runs (so
the migration is not atomic: CONCURRENTLY cannot run inside a transaction).
Other databases get a plain ``CREATE INDEX``.  If a concurrent build is
interrupted, PostgreSQL leaves an INVALID index behind: drop it
(``DROP INDEX CONCURRENTLY scim_user_live_page``) and run the migration again.
"""

from django.db import migrations, models

from scim_portal.db import AddIndexConcurrently


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ("scim_portal", "0005_history_of_credentials_and_group_rules"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="scimuser",
            index=models.Index(condition=models.Q(deleted_at__isnull=True), fields=["integration", "id"],
                               name="scim_user_live_page"),
        ),
        AddIndexConcurrently(
            model_name="scimgroup",
            index=models.Index(condition=models.Q(deleted_at__isnull=True), fields=["integration", "id"],
                               name="scim_group_live_page"),
        ),
    ]
