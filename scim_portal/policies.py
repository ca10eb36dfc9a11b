"""Provisioning policies: the per-integration decisions about people in the portal.

Called only from :mod:`scim_portal.provisioning`, inside its transaction, so a
refusal leaves nothing half-done.  Defaults: SSO-only accounts, reactivation
allowed, deactivate (never delete) on ``active: false`` and ``DELETE``.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import F, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from scim_portal.exceptions import Forbidden, InvalidValue, Mutability, Uniqueness
from scim_portal.mapping import AttributePath
from scim_portal.models import GroupRule, Integration, ScimUser, UniqueIdentifier, UnknownAttributes
from scim_portal.models.query import PreparedRows
from scim_portal.models.resources import fold

#: Attributes an allow-list can never exclude: without them there is no identity.
ALWAYS_WRITABLE = frozenset({"username", "active", "externalid", "schemas", "id", "meta"})


class SeatLimitReached(Forbidden):
    """403: the integration's seat limit is reached (shown to the IdP admin as the error detail)."""


class ReactivationRefused(Forbidden):
    """403: a reactivation rule refuses to switch the account back on."""


def required_attributes(integration: Integration) -> list[str]:
    """The IdP's required paths, the integration's own, and the work email when it is the identifier."""
    paths = [*integration.dialect.required_user_attributes, *integration.required_attributes]
    if integration.unique_identifier == UniqueIdentifier.EMAIL and "emails" not in paths:
        paths.append("emails")
    return paths


def check_required(integration: Integration, document: dict[str, Any]) -> None:
    """400 naming every required attribute the document lacks (Entra: mail, givenName, surname)."""
    missing = [path for path in required_attributes(integration)
               if AttributePath.parse(path).get(document) in (None, "", [])]
    if missing:
        dialect = integration.dialect
        names = [f"{path} ({dialect.attribute_labels[path]} in {dialect.label})"
                 if path in dialect.attribute_labels else path for path in missing]
        raise InvalidValue(_("Missing required attribute(s): %s.") % ", ".join(names))


def check_user_name(document: dict[str, Any]) -> None:
    """400 for a userName that is nothing but white space and invisible characters.

    Such a name has an empty lookup key (see :func:`~scim_portal.models.resources.fold`),
    so it could neither be found nor told apart from the next one.
    """
    if not fold(document.get("userName")):
        raise InvalidValue(_("userName is empty once white space and invisible characters are removed."))


def allowed(key: str, allow_list: set[str], urn: str | None = None) -> bool:
    name = key.lower()
    if name in ALWAYS_WRITABLE or name in allow_list:
        return True
    return urn is not None and f"{urn.lower()}:{name}" in allow_list


def writable(integration: Integration, path: AttributePath) -> bool:
    """Whether the integration's allow-list lets the IdP write this attribute."""
    allow_list = {a.lower() for a in integration.writable_attributes}
    if not allow_list or (path.urn is not None and path.urn.lower() in allow_list):
        return True
    return allowed(path.attribute, allow_list, path.urn)


def restrict(integration: Integration, document: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """Apply the writable-attribute allow-list: drop (or reject) attributes outside it.

    An attribute outside the list keeps its current value; under the "reject"
    policy a request that would change one gets 400 ``mutability``.
    """
    allow_list = {a.lower() for a in integration.writable_attributes}
    if not allow_list:
        return document
    result: dict[str, Any] = {}
    refused: list[str] = []
    for key, value in document.items():
        if key.lower().startswith("urn:") and isinstance(value, dict):
            kept = {k: v for k, v in value.items() if allowed(k, allow_list, key)}
            refused += [f"{key}:{k}" for k, v in value.items()
                        if k not in kept and (current.get(key) or {}).get(k) != v]
            kept.update({k: v for k, v in (current.get(key) or {}).items() if not allowed(k, allow_list, key)})
            if kept or key.lower() in allow_list:
                result[key] = value if key.lower() in allow_list else kept
        elif allowed(key, allow_list):
            result[key] = value
        elif current.get(key) != value:
            refused.append(key)
    for key, value in current.items():
        if key not in result and not allowed(key, allow_list) and not key.lower().startswith("urn:"):
            result[key] = value
    if refused and integration.unknown_attributes == UnknownAttributes.REJECT:
        raise Mutability(_("This integration may not write: %s.") % ", ".join(sorted(refused)))
    return result


def check_seat(integration: Integration) -> None:
    """Refuse a new active user past the seat limit.

    The integration row is locked first, so concurrent creates on PostgreSQL
    are counted one after another and the limit holds.
    """
    if integration.seat_limit is None:
        return
    integration.lock()
    used = ScimUser.objects.filter(integration=integration, deleted_at=None, deactivated_at=None).count()
    if used >= integration.seat_limit:
        raise SeatLimitReached(
            _("Seat limit reached: %(used)d of %(limit)d seats of %(name)s are in use. Deactivate a user "
              "or ask the portal administrator to raise the limit.")
            % {"used": used, "limit": integration.seat_limit, "name": integration.name}
        )


def check_unique_email(integration: Integration, document: dict[str, Any], scim_user: ScimUser | None) -> None:
    """409 when the work email is the unique identifier and another live user of the integration has it.

    The integration row is locked first, so two concurrent creates with one email cannot both pass.
    """
    if integration.unique_identifier != UniqueIdentifier.EMAIL:
        return
    email = AttributePath.parse("emails").get(document)
    if not email:
        return
    integration.lock()
    others = ScimUser.objects.filter(integration=integration, deleted_at=None, email_key=fold(email))
    if scim_user is not None:
        others = others.exclude(pk=scim_user.pk)
    if others.exists():
        raise Uniqueness(_("A user with work email %s already exists.") % email)


def check_reactivation(integration: Integration, scim_user: ScimUser) -> None:
    if not integration.reactivation_allowed:
        raise ReactivationRefused(
            _("Reactivation through SCIM is switched off for %s; a portal administrator can reactivate "
              "the account.") % integration.name)
    days = integration.reactivation_cooldown_days
    if days and scim_user.deactivated_at:
        allowed_from = scim_user.deactivated_at + datetime.timedelta(days=days)
        if timezone.now() < allowed_from:
            raise ReactivationRefused(
                _("This user was deactivated on %(date)s and cannot be reactivated through SCIM before "
                  "%(until)s (%(days)d-day rule).")
                % {"date": scim_user.deactivated_at.date().isoformat(),
                   "until": allowed_from.date().isoformat(), "days": days})


def linkable_user(integration: Integration, document: dict[str, Any], attribute_map, adapter) -> Any | None:
    """An existing portal account a create may take over, when the integration allows it
    and ``adapter.may_link`` agrees (the adapter of the write in progress, passed down).

    Only accounts without a SCIM identity and without a usable password (SSO
    users) qualify, so a local account is never captured by an IdP.
    """
    if not integration.link_existing_users:
        return None
    User = get_user_model()
    if integration.unique_identifier == UniqueIdentifier.EMAIL:
        field = attribute_map.field_for("emails") or User.get_email_field_name()
        value = AttributePath.parse("emails").get(document)
    else:
        field = attribute_map.field_for("userName") or User.USERNAME_FIELD
        value = document.get("userName")
    if not value:
        return None
    candidates = User.objects.filter(**{f"{field}__iexact": value, "scim_identity__isnull": True})
    # Lock only the user row: PostgreSQL refuses FOR UPDATE on the nullable side of the outer join.
    user = candidates.select_for_update(of=("self",)).first()
    if user is not None and adapter.may_link(integration, user, document):
        return user
    return None


@dataclass(frozen=True)
class GroupPolicy:
    """What an integration's groups do to a person: default groups and group rules."""

    #: Host group ids every new user joins.
    default_group_ids: list[int]
    #: ``(host group id, grant)`` of each group rule, in priority order.
    rules: list[tuple[int, str]]

    def grants_anything(self, integration: Integration) -> bool:
        return bool(self.rules or integration.default_grant)


def _group_policy_rows(integration_id: int):
    # Every column is an annotation, in the same order on both sides of the union.
    defaults = (
        Integration.default_groups.through.objects.filter(integration_id=integration_id)
        .annotate(kind=Value(0), host_group=F("group_id"), grant_key=Value(""), rank=Value(0), rule=Value(0))
        .values_list("kind", "host_group", "grant_key", "rank", "rule")
    )
    rules = (
        GroupRule.objects.filter(integration_id=integration_id).order_by()
        .annotate(kind=Value(1), host_group=F("group__group_id"), grant_key=F("grant"), rank=F("priority"),
                  rule=F("pk"))
        .values_list("kind", "host_group", "grant_key", "rank", "rule")
    )
    return defaults.order_by().union(rules, all=True)


#: The group policy's query, its SQL built once (every create reads it).
GROUP_POLICY_ROWS = PreparedRows(_group_policy_rows, kinds=(int,))


def group_policy(integration: Integration) -> GroupPolicy:
    """The integration's default groups and group rules, read in one query (a ``UNION ALL``)."""
    rows = GROUP_POLICY_ROWS.rows(integration.pk)
    ranked = sorted((rank, rule, group, grant) for kind, group, grant, rank, rule in rows if kind == 1)
    return GroupPolicy(
        default_group_ids=[group for kind, group, *_rest in rows if kind == 0],
        rules=[(group, grant) for _rank, _rule, group, grant in ranked],
    )


def grants_for(integration: Integration, user_ids: set[int], membership,
               rules: list[tuple[int, str]]) -> dict[int, list[str]]:
    """The grants of each user from the integration's group rules (priority order), else the default."""
    groups_of: dict[int, set[int]] = defaultdict(set)
    if rules:
        through, user_col, group_col = membership
        group_ids = {group_id for group_id, _grant in rules}
        rows = through.objects.filter(**{f"{user_col}__in": user_ids, f"{group_col}__in": group_ids})
        for user_id, group_id in rows.values_list(user_col, group_col):
            groups_of[user_id].add(group_id)
    grants: dict[int, list[str]] = {uid: [] for uid in user_ids}
    for user_id, found in grants.items():
        # In rule priority order, whatever order the membership rows come back in.
        for group_id, grant in rules:
            if group_id in groups_of[user_id] and grant not in found:
                found.append(grant)
    default = [integration.default_grant] if integration.default_grant else []
    return {uid: (found or default) for uid, found in grants.items()}
