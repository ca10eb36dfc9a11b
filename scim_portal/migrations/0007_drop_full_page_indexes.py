"""Drop the full ``(integration, id)`` indexes that the partial live-page indexes of 0006 replace.

Every SCIM query of users and groups asks for the live ones (``deleted_at IS
NULL``), which the partial indexes serve; lookups by integration alone use the
foreign key's own index.  Keeping both made every insert maintain two indexes
with the same key.  Dropped ``CONCURRENTLY`` on PostgreSQL (see scim_portal.db).
"""

from django.db import migrations

from scim_portal.db import RemoveIndexConcurrently


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ("scim_portal", "0006_live_resource_page_indexes"),
    ]

    operations = [
        RemoveIndexConcurrently(model_name="scimuser", name="scim_user_integration_page"),
        RemoveIndexConcurrently(model_name="scimgroup", name="scim_group_integration_page"),
    ]
