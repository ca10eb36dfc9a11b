"""Signals scim_portal sends after a SCIM change has been committed.

Each is sent once, after the transaction commits (never for a rolled-back
request), with keyword arguments:

- ``integration``: the :class:`~scim_portal.models.Integration` acting;
- ``actor``: its service account;
- ``request_id``: the id also sent back in the ``X-Request-ID`` header;
- ``user`` (host user) and ``scim_user``, or ``group`` and ``scim_group``;
- for ``user_updated``: ``changed`` (SCIM attribute names);
- for ``group_membership_changed``: ``added`` and ``removed`` (host user ids).

Signals notify; to decide or veto, override an adapter method.
"""

from __future__ import annotations

from django.dispatch import Signal

user_provisioned = Signal()
user_updated = Signal()
user_deactivated = Signal()
user_reactivated = Signal()
user_deleted = Signal()
group_created = Signal()
group_updated = Signal()
group_deleted = Signal()
group_membership_changed = Signal()
provisioning_failed = Signal()
