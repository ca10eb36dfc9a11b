"""Migration operations that are safe on big existing tables.

On PostgreSQL, indexes are built and dropped ``CONCURRENTLY``, which does not
block writes while it runs; a migration using these operations must set
``atomic = False`` (``CONCURRENTLY`` cannot run inside a transaction).  Other
databases get the plain statements.  An interrupted concurrent build leaves an
``INVALID`` index behind: drop it (``DROP INDEX CONCURRENTLY <name>``) and run
the migration again.

Django's own ``django.contrib.postgres.operations.AddIndexConcurrently`` is
PostgreSQL-only (it would fail on SQLite) and needs ``django.contrib.postgres``,
which the package does not require; these fall back to the plain statements.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


def _add(schema_editor: Any, model: Any, index: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(model, index, concurrently=True)
    else:
        schema_editor.add_index(model, index)


def _remove(schema_editor: Any, model: Any, index: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(model, index, concurrently=True)
    else:
        schema_editor.remove_index(model, index)


class AddIndexConcurrently(migrations.AddIndex):
    """``CREATE INDEX CONCURRENTLY`` on PostgreSQL, ``CREATE INDEX`` elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            _add(schema_editor, model, self.index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            _remove(schema_editor, model, self.index)


class RemoveIndexConcurrently(migrations.RemoveIndex):
    """``DROP INDEX CONCURRENTLY`` on PostgreSQL, ``DROP INDEX`` elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = from_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
            _remove(schema_editor, model, index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = to_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
            _add(schema_editor, model, index)
