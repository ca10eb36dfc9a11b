"""Partial indexes for the pages and counts of live (not deleted) SCIM users and groups.

Safe on big existing tables: on PostgreSQL the indexes are built with
``CREATE INDEX CONCURRENTLY``, which does not block writes while it runs (so
the migration is not atomic: CONCURRENTLY cannot run inside a transaction).
Other databases get a plain ``CREATE INDEX``.  If a concurrent build is
interrupted, PostgreSQL leaves an INVALID index behind: drop it
(``DROP INDEX CONCURRENTLY scim_user_live_page``) and run the migration again.
"""

from django.db import migrations, models


class AddIndexConcurrently(migrations.AddIndex):
    """``CREATE INDEX CONCURRENTLY`` on PostgreSQL, ``CREATE INDEX`` elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.add_index(model, self.index, concurrently=True)
            else:
                schema_editor.add_index(model, self.index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.remove_index(model, self.index, concurrently=True)
            else:
                schema_editor.remove_index(model, self.index)


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
