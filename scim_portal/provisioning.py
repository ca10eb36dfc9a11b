"""The single write path: every SCIM change to a user or group goes through here.

Each operation runs in one transaction that locks the row it changes; it
either applies fully or not at all.  Database uniqueness violations (two
IdP workers racing to create one person) become 409 ``uniqueness``.  Signals
are sent after commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from django.contrib.auth import get_user_model
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from scim_portal import brake, policies, signals
from scim_portal.adapter import ScimAdapter, get_adapter
from scim_portal.conf import app_settings
from scim_portal.context import ScimContext
from scim_portal.exceptions import InvalidValue, PreconditionFailed, Uniqueness
from scim_portal.history import scim_change
from scim_portal.mapping import EMAILS, primary_value
from scim_portal.models import Deprovisioning, ScimGroup, ScimUser
from scim_portal.models.query import PreparedLookup, unique_row
from scim_portal.models.resources import fold
from scim_portal.resources import (
    GroupService,
    UserService,
    membership_columns,
    membership_through,
    parse_scim_id,
)
from scim_portal.scim import codec

#: Ids per ``IN (...)`` list or insert batch (SQLite allows 32766 bound parameters).
CHUNK = 10_000

#: The SCIM identity holding a folded userName, in any integration, locked (SQL built once).
USER_NAME_TAKEN = PreparedLookup(lambda key: ScimUser.objects.select_for_update().filter(user_name_key=key))

#: Keys of a canonical resource that live in columns, not in the stored document.
COLUMN_KEYS = frozenset({"schemas", "id", "meta", "externalId"})


@contextmanager
def unique_or_conflict(detail: str, *, savepoint: bool = True) -> Iterator[None]:
    """Run a block atomically; a unique-constraint violation becomes 409 uniqueness.

    A value the database cannot store (longer than a host column, say) becomes 400
    ``invalidValue`` rather than a server error.  ``savepoint=False`` is for a block
    inside an operation's own ``atomic``: the error it raises ends that operation,
    so a savepoint (two more round trips) would have nothing to recover.
    """
    try:
        with transaction.atomic(savepoint=savepoint):
            yield
    except IntegrityError as exc:
        raise Uniqueness(detail) from exc
    except DataError as exc:
        raise InvalidValue(_("A value is too long or cannot be stored by the portal.")) from exc


def check_version(obj, if_match: str | None) -> None:
    """RFC 7644 3.14: a mismatching ``If-Match`` gives 412."""
    if if_match and if_match.strip() != "*":
        tags = {tag.strip() for tag in if_match.split(",")}
        if obj.etag not in tags and obj.etag.removeprefix("W/") not in tags:
            raise PreconditionFailed(_("The resource has changed (version %s).") % obj.etag)


class Provisioner:
    """Applies SCIM writes for one request context.

    Each public write is one call and one transaction, opened by :meth:`transaction`
    together with the history scope, so every history row it writes names the
    service account, the integration, the credential and the request (``reason``,
    e.g. ``"SCIM PATCH Users/<id>"``).  The adapter given here is the one every
    decision of the write asks.
    """

    def __init__(self, context: ScimContext, base_url: str, adapter: ScimAdapter | None = None,
                 reason: str = "SCIM", *, announce: bool = True):
        self.context = context
        self.integration = context.integration
        self.adapter = adapter or get_adapter()
        self.reason = reason[:100]
        self.users = UserService(context, base_url, self.adapter)
        self.groups = GroupService(context, base_url, self.adapter)
        #: Send the signals a write owes once it commits (a task, a shell); ``False`` leaves them
        #: in :attr:`events` for the caller to send (the API sends them with the request's log row).
        self.announce = announce
        self.events: list[signals.Event] = []

    @contextmanager
    def transaction(self, conflict: str | None = None) -> Iterator[None]:
        """One write: the history scope and one transaction; with ``conflict``, a unique
        violation inside it is 409 ``uniqueness`` with that detail."""
        self.events = []  # only the signals of the write that is starting
        with scim_change(self.context, self.reason):
            if conflict is None:
                with transaction.atomic():
                    yield
            else:
                with unique_or_conflict(conflict):
                    yield

    def notify(self, signal, **kwargs: Any) -> None:
        """Owe ``signal`` for this write: sent once it commits, or left in :attr:`events`."""
        if "user" in kwargs:
            kwargs.setdefault("user_id", kwargs["user"].pk)
        if "group" in kwargs:
            kwargs.setdefault("group_id", kwargs["group"].pk)
        event = signals.Event(signal, ScimUser if "scim_user" in kwargs else ScimGroup, {
            "integration": self.integration, "actor": self.context.actor,
            "request_id": self.context.request_id, **kwargs})
        if self.announce:
            event.send_after_commit()
        else:
            self.events.append(event)

    # -- users ---------------------------------------------------------------------
    def create_user(self, body: Any) -> ScimUser:
        incoming = codec.user_from_body(body)
        document = policies.restrict(self.integration, incoming.resource, {})
        document["active"] = bool(document.get("active", True))
        policies.check_user_name(document)
        policies.check_required(self.integration, document)
        detail = _("A user with userName %s already exists.") % document.get("userName")
        with self.transaction(conflict=detail):
            # Not joined to the host user: only a revived account (rare) reads it.
            existing = USER_NAME_TAKEN.get(fold(document["userName"]))
            if existing is not None:
                return self.revive_user(existing, incoming.password, document, detail)
            policies.check_unique_email(self.integration, document, None)
            if document["active"]:
                policies.check_seat(self.integration)
                self.adapter.check_activation(self.integration, None, document, reactivation=False)
            user, linked = self.host_user_for(document, incoming.password)
            scim_user = ScimUser(integration=self.integration, user=user)
            self.fill_user(scim_user, document)
            scim_user.deactivated_at = None if document["active"] else timezone.now()
            scim_user.insert()
            self.join_default_groups(user)
            self.refresh_grants({user.pk})
        self.notify(signals.user_provisioned, user=user, scim_user=scim_user, linked=linked)
        return scim_user

    def host_user_for(self, document: dict[str, Any], password: str | None) -> tuple[Any, bool]:
        """A new host account, or an existing SSO account the integration may link (then ``True``)."""
        values = self.users.attribute_map.to_host(document)
        user = policies.linkable_user(self.integration, document, self.users.attribute_map, self.adapter)
        linked = user is not None
        if user is not None:
            self.adapter.populate_user(self.integration, user, values)
        else:
            user = self.adapter.new_user(self.integration, values)
        self.store_password(user, password)
        user.save()
        return user, linked

    def revive_user(self, existing: ScimUser, password: str | None, document: dict[str, Any],
                    detail: str) -> ScimUser:
        """POST of a userName the IdP deleted earlier: the same account comes back, not a second one."""
        if existing.deleted_at is None or existing.integration_id != self.integration.pk:
            raise Uniqueness(detail)
        existing.deleted_at = None
        existing.external_id = ""
        self.write_user(existing, document, password, was_active=False)
        return existing

    @brake.holds_recorded("PUT")
    def replace_user(self, scim_id: str, body: Any, if_match: str | None = None) -> ScimUser:
        incoming = codec.user_from_body(body)
        with self.transaction():
            scim_user = self.users.get(scim_id, for_update=True)
            check_version(scim_user, if_match)
            current = self.current_user_document(scim_user)
            document = policies.restrict(self.integration, incoming.resource, current)
            # PUT without "active" keeps the account as it is (never a silent deactivation).
            document["active"] = bool(document.get("active", current.get("active", True)))
            self.write_user(scim_user, document, incoming.password, was_active=scim_user.deactivated_at is None)
        return scim_user

    @brake.holds_recorded("PATCH")
    def patch_user(self, scim_id: str, body: Any, if_match: str | None = None) -> ScimUser:
        with self.transaction():
            scim_user = self.users.get(scim_id, for_update=True)
            check_version(scim_user, if_match)
            current = self.current_user_document(scim_user)
            result = codec.patch_user(current, body)
            if result.changed or result.password:
                # A removed "active" stays unassigned (RFC 7644 3.5.2.2): the account is not active.
                document = policies.restrict(self.integration, result.resource, current)
                self.write_user(scim_user, document, result.password,
                                was_active=scim_user.deactivated_at is None)
        return scim_user

    @brake.holds_recorded("DELETE")
    def delete_user(self, scim_id: str, if_match: str | None = None) -> ScimUser:
        """RFC 7644 3.6: afterwards the resource is gone for SCIM (404).

        The portal account is deprovisioned by the integration's policy:
        deactivated by default, and only deleted when the policy says so.
        """
        with self.transaction():
            scim_user = self.users.get(scim_id, for_update=True)
            check_version(scim_user, if_match)
            brake.check(self.context, scim_user, deleting=True)  # may hold it: 503, nothing applied
            user = scim_user.user
            user_id = user.pk  # gone from the object if the policy deletes the account
            if scim_user.deactivated_at is None:
                scim_user.deactivated_at = timezone.now()
            scim_user.deleted_at = timezone.now()
            scim_user.bump()
            scim_user.save_changes()
            self.deprovision(scim_user)
        self.notify(signals.user_deleted, user=user, user_id=user_id, scim_user=scim_user)
        return scim_user

    def current_user_document(self, scim_user: ScimUser) -> dict[str, Any]:
        """The user's canonical SCIM document as the IdP would read it now."""
        document = self.users.attribute_map.overlay(scim_user.document, scim_user.user)
        document["id"] = str(scim_user.scim_id)  # so a PATCH that repeats the id is a no-op
        if scim_user.external_id:
            document["externalId"] = scim_user.external_id
        document["userName"] = scim_user.user_name
        if "active" in document or scim_user.deactivated_at is None:  # else removed: stays unassigned
            document["active"] = scim_user.deactivated_at is None and document.get("active", True) is not False
        return document

    def write_user(self, scim_user: ScimUser, document: dict[str, Any], password: str | None,
                   *, was_active: bool) -> None:
        policies.check_user_name(document)
        is_active = document.get("active") is True  # unassigned (removed by a PATCH) is not active
        if was_active and not is_active:
            brake.check(self.context, scim_user)  # may hold it: 503, nothing applied
        policies.check_required(self.integration, document)
        if fold(primary_value(document.get(EMAILS))) != scim_user.email_key:
            policies.check_unique_email(self.integration, document, scim_user)
        if is_active and not was_active:
            policies.check_reactivation(self.integration, scim_user)
            policies.check_seat(self.integration)
            self.adapter.check_activation(self.integration, scim_user.user, document, reactivation=True)
        user = scim_user.user
        values = self.users.attribute_map.to_host(document)
        changed = self.adapter.populate_user(self.integration, user, values)
        if self.store_password(user, password):
            changed.append("password")
        detail = _("userName %s is already taken.") % document.get("userName")
        with unique_or_conflict(detail, savepoint=False):  # inside the operation's atomic
            if changed:
                user.save(update_fields=changed)
            self.fill_user(scim_user, document)
            if was_active and not is_active:
                scim_user.deactivated_at = timezone.now()
            elif is_active:
                scim_user.deactivated_at = None
            scim_user.bump()
            scim_user.save_changes()
        if was_active and not is_active:
            self.deprovision(scim_user)
        self.notify(signals.user_updated, user=user, scim_user=scim_user, changed=changed)
        if was_active and not is_active:
            self.notify(signals.user_deactivated, user=user, scim_user=scim_user)
        elif is_active and not was_active:
            self.notify(signals.user_reactivated, user=user, scim_user=scim_user)

    def deprovision(self, scim_user: ScimUser) -> None:
        """End the person's access, then apply the integration's deprovisioning policy."""
        user = scim_user.user
        self.adapter.end_access(self.integration, user)
        policy = self.integration.deprovisioning
        if policy == Deprovisioning.DELETE:
            self.adapter.delete_user(self.integration, user)
            return
        active_field = self.users.attribute_map.field_for("active")
        if active_field and getattr(user, active_field):
            setattr(user, active_field, False)
            user.save(update_fields=[active_field])
        if policy == Deprovisioning.DEACTIVATE_AND_UNGROUP:
            through = membership_through()
            user_col, _group_col = membership_columns()
            through.objects.filter(**{user_col: user.pk}).delete()
            self.refresh_grants({user.pk})  # what the groups granted goes with them

    def fill_user(self, scim_user: ScimUser, document: dict[str, Any]) -> None:
        scim_user.user_name = document["userName"]
        scim_user.external_id = document.get("externalId") or ""
        scim_user.document = order_emails({k: v for k, v in document.items() if k not in COLUMN_KEYS})
        scim_user.email_key = fold(primary_value(scim_user.document.get(EMAILS)))

    @cached_property
    def group_policy(self) -> policies.GroupPolicy:
        """The integration's default groups and group rules, read once per request."""
        return policies.group_policy(self.integration)

    def join_default_groups(self, user: Any) -> None:
        group_ids = self.group_policy.default_group_ids
        if group_ids:
            through = membership_through()
            user_col, group_col = membership_columns()
            through.objects.bulk_create(
                [through(**{user_col: user.pk, group_col: gid}) for gid in group_ids], ignore_conflicts=True
            )

    def refresh_grants(self, user_ids: set[int], *, force: bool = False) -> None:
        """Re-evaluate group rules for these users and hand the result to the adapter.

        ``force`` calls the adapter even when no rule is left (a deleted group took the last one).
        """
        if not user_ids or not (force or self.group_policy.grants_anything(self.integration)):
            return
        membership = (membership_through(), *membership_columns())
        grants = policies.grants_for(self.integration, user_ids, membership, self.group_policy.rules)
        users = get_user_model().objects.in_bulk(list(user_ids))
        for user_id, granted in grants.items():
            if user_id in users:
                self.adapter.apply_grants(self.integration, users[user_id], granted)

    def scim_member_ids(self, group_id: int) -> set[int]:
        """Host ids of this integration's SCIM users in a group (members added in the portal are not)."""
        through = membership_through()
        user_col, group_col = membership_columns()
        rows = through.objects.filter(**{group_col: group_id,
                                         f"{user_col[:-3]}__scim_identity__integration": self.integration})
        return set(rows.values_list(user_col, flat=True))

    def store_password(self, user, password: str | None) -> bool:
        if password and app_settings.STORE_PASSWORDS:
            self.adapter.set_password(self.integration, user, password)
            return True
        return False

    # -- groups --------------------------------------------------------------------
    def create_group(self, body: Any) -> ScimGroup:
        incoming = codec.group_from_body(body)
        document = incoming.resource
        name = document["displayName"]
        with self.transaction(conflict=_("A group named %s already exists.") % name):
            group = self.portal_group_named(name) or self.adapter.new_group(self.integration, name)
            group.save()
            scim_group = ScimGroup(integration=self.integration, group=group)
            self.fill_group(scim_group, document)
            scim_group.insert()
            added, _removed = self.apply_members(scim_group, codec.members_of(incoming))
            self.refresh_grants(set(added))
        self.notify(signals.group_created, group=group, scim_group=scim_group)
        if added:
            self.notify(signals.group_membership_changed, group=group, scim_group=scim_group,
                        added=added, removed=[])
        return scim_group

    def portal_group_named(self, name: str) -> Any | None:
        """The portal's own group of this name, when the integration adopts it; else ``None``.

        A portal group no integration manages is taken over only with
        ``adopt_existing_groups`` on; otherwise, or when another integration manages
        it or lists it among its default groups (this IdP could then rename or delete
        the group the other's new accounts join), the create gets 409 with a detail
        that says so.  Two creates racing for one group meet the unique
        ``ScimGroup.group``: the second gets 409.  (Group rules name IdP groups, never
        an unmanaged portal group.)
        """
        field = app_settings.GROUP_NAME_FIELD
        existing = unique_row(self.adapter.group_model().objects.filter(**{field: name})
                              .select_related("scim_identity"))
        if existing is None:
            return None
        identity = getattr(existing, "scim_identity", None)
        if identity is not None:
            detail = (_("A group named %s already exists.") if identity.integration_id == self.integration.pk
                      else _("A group named %s already exists and belongs to another integration."))
            raise Uniqueness(detail % name)
        if not self.integration.adopt_existing_groups:
            raise Uniqueness(_(
                "A portal group named %s already exists and no integration manages it. To let this "
                "integration take it over, turn on \"adopt existing portal groups\" "
                "(adopt_existing_groups) on the integration, or rename the portal group.") % name)
        if type(self.integration).objects.filter(default_groups=existing).exclude(pk=self.integration.pk).exists():
            raise Uniqueness(_(
                "A portal group named %s already exists and is a default group of another integration, "
                "so this integration cannot take it over. Rename the portal group, or remove it from the "
                "other integration's default groups.") % name)
        return existing

    def replace_group(self, scim_id: str, body: Any, if_match: str | None = None) -> ScimGroup:
        incoming = codec.group_from_body(body)
        with self.transaction():
            scim_group = self.groups.get(scim_id, for_update=True)
            check_version(scim_group, if_match)
            self.write_group(scim_group, incoming.resource, codec.members_of(incoming))
        return scim_group

    def patch_group(self, scim_id: str, body: Any, if_match: str | None = None) -> ScimGroup:
        with self.transaction():
            scim_group = self.groups.get(scim_id, for_update=True)
            check_version(scim_group, if_match)
            current = self.current_group_document(scim_group)
            result = codec.patch_group(current, body)
            self.write_group(scim_group, result.resource, result.members)
        return scim_group

    def delete_group(self, scim_id: str, if_match: str | None = None) -> ScimGroup:
        with self.transaction():
            scim_group = self.groups.get(scim_id, for_update=True)
            check_version(scim_group, if_match)
            group = scim_group.group
            group_id = group.pk
            # The group's rules go with it: its members' grants are evaluated again without them
            # (the policy read here still lists those rules, but their group has no members left).
            has_rules = any(group_id == group.pk for group_id, _grant in self.group_policy.rules)
            losing = self.scim_member_ids(group.pk) if has_rules else set()
            group.delete()
            self.refresh_grants(losing, force=True)
        self.notify(signals.group_deleted, group=group, group_id=group_id, scim_group=scim_group)
        return scim_group

    def current_group_document(self, scim_group: ScimGroup) -> dict[str, Any]:
        document = dict(scim_group.document)
        document["displayName"] = scim_group.display_name
        document["id"] = str(scim_group.scim_id)  # so a PATCH that repeats the id is a no-op
        if scim_group.external_id:
            document["externalId"] = scim_group.external_id
        return document

    def write_group(self, scim_group: ScimGroup, document: dict[str, Any], delta) -> None:
        group = scim_group.group
        renamed = document["displayName"] != scim_group.display_name
        with unique_or_conflict(_("A group named %s already exists.") % document["displayName"],
                                savepoint=False):  # inside the operation's atomic
            if renamed:
                self.adapter.rename_group(self.integration, group, document["displayName"])
                group.save()
            self.fill_group(scim_group, document)
            added, removed = self.apply_members(scim_group, delta)
            self.refresh_grants(set(added) | set(removed))
            scim_group.bump()
            scim_group.save_changes()
        self.notify(signals.group_updated, group=group, scim_group=scim_group)
        if added or removed:
            self.notify(signals.group_membership_changed, group=group, scim_group=scim_group,
                        added=added, removed=removed)

    def fill_group(self, scim_group: ScimGroup, document: dict[str, Any]) -> None:
        scim_group.display_name = document["displayName"]
        scim_group.external_id = document.get("externalId") or ""
        scim_group.document = {
            k: v for k, v in document.items() if k not in COLUMN_KEYS | {"displayName", "members"}
        }

    # -- membership ------------------------------------------------------------------
    def apply_members(self, scim_group: ScimGroup, delta: codec.MembershipDelta) -> tuple[list, list]:
        """Apply a membership delta with set operations on the through table.

        Costs queries in proportion to the members named in the request, never
        to the size of the group (except a full ``replace``, which must read it).
        """
        through = membership_through()
        user_col, group_col = membership_columns()
        group_id = scim_group.group_id
        rows = through.objects.filter(**{group_col: group_id})
        if delta.replace is not None or delta.remove_all:
            # The group's SCIM membership becomes exactly the wanted set.
            current = self.scim_member_ids(group_id)
            wanted = self.resolve_members(delta.replace if delta.replace is not None else delta.add, strict=True)
            added, removed = wanted - current, current - wanted
        else:
            to_add = self.resolve_members(delta.add, strict=True)
            to_remove = self.resolve_members(delta.remove, strict=False) - to_add
            added, removed = set(), set()
            if to_add or to_remove:
                # Only real changes are reported and signalled: one query, sized by the request.
                present: set[int] = set()
                for chunk in chunks(to_add | to_remove):
                    present.update(rows.filter(**{f"{user_col}__in": chunk}).values_list(user_col, flat=True))
                added, removed = to_add - present, to_remove & present
        for chunk in chunks(removed):
            rows.filter(**{f"{user_col}__in": chunk}).delete()
        if added:
            through.objects.bulk_create(
                [through(**{user_col: uid, group_col: group_id}) for uid in added],
                ignore_conflicts=True, batch_size=CHUNK,
            )
        return sorted(added), sorted(removed)

    def resolve_members(self, scim_ids: list[str], *, strict: bool) -> set[int]:
        """Host user ids of the given SCIM user ids, visible to this integration."""
        if not scim_ids:
            return set()
        keys = {parse_scim_id(value) for value in scim_ids}
        found: dict[Any, int] = {}
        for chunk in chunks(k for k in keys if k):
            found.update(self.users.scoped().filter(scim_id__in=chunk).values_list("scim_id", "user_id"))
        if strict and app_settings.UNKNOWN_MEMBERS == "reject":
            unknown = [value for value in scim_ids if parse_scim_id(value) not in found]
            if unknown:
                raise InvalidValue(_("Unknown member id(s): %s.") % ", ".join(map(str, unknown[:20])))
        return set(found.values())


def chunks(values: Iterable[Any], size: int | None = None) -> Iterator[list[Any]]:
    """Split ids for ``IN (...)`` lists, under every backend's bound-parameter limit."""
    size = size or CHUNK
    batch: list[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def order_emails(document: dict[str, Any]) -> dict[str, Any]:
    """Put the primary email first, so indexed lookups on the first entry see the primary one."""
    emails = document.get(EMAILS)
    if isinstance(emails, list) and len(emails) > 1:
        document[EMAILS] = sorted(emails, key=lambda e: not (isinstance(e, dict) and e.get("primary")))
    return document


