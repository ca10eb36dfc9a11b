"""Recompute the folded lookup keys under the fold that also normalises Unicode and trims.

``user_name_key``, ``email_key`` and ``display_name_key`` used to be ``casefold()``
only; they are now NFKC-normalised, stripped of format characters (Unicode Cf) and
trimmed (see ``scim_portal.models.resources.fold``), so a fullwidth, decomposed,
zero-width or space-padded variant of a name is the same account.

Two existing rows may now fold to one key (an account created twice under look-alike
names before this fix).  Accounts are never merged or deleted by a migration: the
oldest row (lowest id) takes the new key and keeps answering lookups; a younger one
keeps its former key, stays reachable by its SCIM id, and is logged as a warning
(``scim_portal`` logger) for the portal administrator to resolve.

The fold is copied here, frozen, so this migration means the same thing later.
Only the rows whose key changes are written.  A unique key is decided over all rows of
its table at once (a younger row may hold the key an older one folds to), so those rows
are read whole; the emails, which need no such decision, are streamed in batches.
"""

from __future__ import annotations

import logging
import unicodedata

from django.db import migrations

logger = logging.getLogger("scim_portal")
BATCH = 2000


def fold(value: str | None) -> str:
    text = unicodedata.normalize("NFKC", value or "")
    text = "".join(char for char in text if unicodedata.category(char) != "Cf")
    return unicodedata.normalize("NFKC", text.casefold()).strip()


def new_keys(rows: list, scope) -> dict[int, str]:
    """``{pk: key}`` of the rows whose key changes; ``rows`` are ``(pk, scope, name, key)`` by pk.

    A key already held (by an older row, or by a row whose key does not change) is not
    taken again: the younger row keeps the key it had.
    """
    wanted = {pk: fold(name) for pk, _scope, name, _key in rows}
    unchanged = {(scope_value, key) for pk, scope_value, _name, key in rows if wanted[pk] == key}
    taken = set(unchanged)
    changes: dict[int, str] = {}
    for pk, scope_value, name, key in rows:
        if wanted[pk] == key:
            continue
        if (scope_value, wanted[pk]) in taken:
            if (scope_value, key) in taken:  # its old key is someone's new key: a key no fold makes
                changes[pk] = key = parked(pk)
            logger.warning("%s %s (%r) folds to the key of an older account; it keeps the key %r.",
                           scope, pk, name, key)
            taken.add((scope_value, key))
            continue
        taken.add((scope_value, wanted[pk]))
        changes[pk] = wanted[pk]
    return changes


def parked(pk: int) -> str:
    """A key no name folds to (``fold`` strips leading white space): unique per row."""
    return f"\t~refold~{pk}"


def rewrite(model, field: str, changes: dict[int, str]) -> None:
    """Two passes, so no intermediate state breaks the unique index (checked row by row)."""
    if not changes:
        return
    objects = model._default_manager
    for pk in changes:
        objects.filter(pk=pk).update(**{field: parked(pk)})
    for pk, key in changes.items():
        if key != parked(pk):
            objects.filter(pk=pk).update(**{field: key})


def refold(apps, schema_editor) -> None:
    ScimUser = apps.get_model("scim_portal", "ScimUser")
    ScimGroup = apps.get_model("scim_portal", "ScimGroup")
    users = ScimUser.objects.order_by("pk")
    # userName is unique across integrations (one account per person in the portal).
    rewrite(ScimUser, "user_name_key",
            new_keys([(pk, None, name, key) for pk, name, key in
                      users.values_list("pk", "user_name", "user_name_key")], "SCIM user"))
    emails = users.exclude(email_key="").values_list("pk", "email_key").iterator(chunk_size=BATCH)
    changed = {pk: fold(key) for pk, key in emails if fold(key) != key}
    for pk, key in changed.items():  # not unique: nothing can collide
        ScimUser.objects.filter(pk=pk).update(email_key=key)
    groups = ScimGroup.objects.order_by("pk").values_list("pk", "integration_id", "display_name",
                                                          "display_name_key")
    rewrite(ScimGroup, "display_name_key", new_keys(list(groups), "SCIM group"))


class Migration(migrations.Migration):

    dependencies = [
        ("scim_portal", "0008_scim_ids_as_text"),
    ]

    operations = [
        migrations.RunPython(refold, migrations.RunPython.noop, elidable=True),
    ]
