"""Signals scim_portal sends after a SCIM change has been committed.

Each is sent once, after the transaction commits (never for a rolled-back
request).  The keyword arguments of each signal are described by the
``TypedDict`` next to it (see docs/tracking.md); every signal carries:

- ``integration``: the :class:`~scim_portal.models.Integration` acting;
- ``actor``: the user its changes are attributed to (its service account);
- ``request_id``: the id also sent back in the ``X-Request-ID`` header.

User signals add ``user`` (host user), ``user_id`` and ``scim_user``; group
signals add ``group``, ``group_id`` and ``scim_group``.  ``user_updated`` adds
``changed`` (the host user fields written), ``group_membership_changed`` adds
``added`` and ``removed`` (host user ids).  ``provisioning_failed`` is sent for
an authenticated SCIM request answered with an error, with ``status``,
``scim_type``, ``detail`` and ``log_entry``.

Receivers run after the commit; an exception in a receiver is logged and
never turns a committed change into an error for the IdP.  Signals notify; to
decide or veto, override an adapter method.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, TypedDict

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger("scim_portal.signals")


class ChangePayload(TypedDict):
    """Arguments every signal carries."""

    integration: Any  # scim_portal.models.Integration
    actor: Any  # the host user changes are attributed to
    request_id: str


class UserPayload(ChangePayload):
    """``user_deactivated``, ``user_reactivated``, ``user_deleted``."""

    user: Any  # host user (for a deleted account, the object as it was; its pk is None)
    user_id: Any  # host user primary key, also after a deletion
    scim_user: Any  # scim_portal.models.ScimUser


class ProvisionedPayload(UserPayload):
    """``user_provisioned``."""

    linked: bool  # True when the create took over an existing portal account (link_existing_users)


class UserUpdatedPayload(UserPayload):
    """``user_updated``."""

    changed: list[str]  # host user fields written (may be empty when only SCIM-only attributes changed)


class GroupPayload(ChangePayload):
    """``group_created``, ``group_updated``, ``group_deleted``."""

    group: Any  # host group (after a deletion its pk is None)
    group_id: Any  # host group primary key, also after a deletion
    scim_group: Any  # scim_portal.models.ScimGroup


class MembershipPayload(GroupPayload):
    """``group_membership_changed``."""

    added: list[Any]  # host user ids that joined, sorted
    removed: list[Any]  # host user ids that left, sorted


class FailurePayload(ChangePayload):
    """``provisioning_failed``."""

    status: int  # HTTP status of the answer
    scim_type: str  # RFC 7644 scimType, "" when none
    detail: str  # the error detail sent to the IdP
    log_entry: Any  # scim_portal.models.ProvisioningLog, None when LOG_REQUESTS is off


user_provisioned = Signal()  # ProvisionedPayload
user_updated = Signal()  # UserUpdatedPayload
user_deactivated = Signal()  # UserPayload
user_reactivated = Signal()  # UserPayload
user_deleted = Signal()  # UserPayload
group_created = Signal()  # GroupPayload
group_updated = Signal()  # GroupPayload
group_deleted = Signal()  # GroupPayload
group_membership_changed = Signal()  # MembershipPayload
provisioning_failed = Signal()  # FailurePayload


@dataclass(frozen=True)
class Event:
    """A signal a SCIM change owes, with its sender and keyword arguments."""

    signal: Signal
    sender: Any
    kwargs: dict[str, Any]

    def send_after_commit(self) -> None:
        send_after_commit(self.signal, self.sender, **self.kwargs)


def send_after_commit(signal: Signal, sender: Any, **kwargs: Any) -> None:
    """Send ``signal`` once the current transaction commits (at once outside one).

    A failing receiver is logged; the others still run.
    """

    def send() -> None:
        for receiver, result in signal.send_robust(sender=sender, **kwargs):
            if isinstance(result, Exception):
                logger.error("Receiver %r of a scim_portal signal failed", receiver,
                             exc_info=(type(result), result, result.__traceback__))

    transaction.on_commit(send)


class PausedPayload(ChangePayload):
    """``deprovisioning_paused``: an integration's brake tripped (docs/guard-rails.md)."""

    burst: Any  # scim_portal.models.DeprovisioningBurst
    count: int  # deprovisionings applied in the window before it tripped
    window_minutes: int


class DecidedPayload(ChangePayload):
    """``deprovisioning_decided``: an admin released, kept or dismissed a burst (``request_id`` is "")."""

    burst: Any  # scim_portal.models.DeprovisioningBurst
    decision: str  # "released", "kept" or "dismissed"
    reason: str


deprovisioning_paused = Signal()  # PausedPayload
deprovisioning_decided = Signal()  # DecidedPayload
