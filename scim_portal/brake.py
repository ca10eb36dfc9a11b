"""The deprovisioning brake: a mistake in the IdP must not switch off half the portal.

When an integration's deactivations and deletions within a sliding window pass
both a count and a share of its active users, further deprovisioning requests
are *held*: answered ``503 Service Unavailable`` with ``Retry-After`` (RFC 7644
3.12 leaves 5xx to HTTP; RFC 9110 15.6.4 lets a 503 say when to come back),
nothing applied, so the user stays active and a SCIM ``GET`` tells the IdP the
truth.  Each held request is recorded on the burst; a portal admin releases
the burst (the IdP's retries then apply) or keeps it paused.  See
docs/guard-rails.md.

Race safety: every deprovisioning request locks its integration's brake row
(``SELECT ... FOR UPDATE``) inside the operation's transaction, so concurrent
IdP workers count one after another, and a count that rolls back with a
failed operation never counts.  Bursts are created and decided under the same
lock, so it is the only lock a burst needs.  A check costs three queries at a
normal pace.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.core import mail
from django.db import DatabaseError, transaction
from django.db.models import F, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from scim_portal import signals
from scim_portal.conf import app_settings
from scim_portal.context import ScimContext
from scim_portal.exceptions import ScimError
from scim_portal.models import (
    BurstStatus,
    Deprovisioning,
    DeprovisioningBrake,
    DeprovisioningBurst,
    DeprovisioningCount,
    HeldRequest,
    Integration,
    ScimUser,
)
from scim_portal.models.guard import MAX_WINDOW_MINUTES

logger = logging.getLogger("scim_portal.brake")

#: How long after a release the held requests' retries pass without being counted.
APPROVAL_TTL = timedelta(days=7)
#: An admin's decisions on a burst (docs/guard-rails.md, "The admin steps").
DECISIONS = (BurstStatus.RELEASED, BurstStatus.KEPT, BurstStatus.DISMISSED)

F_ = TypeVar("F_", bound=Callable[..., Any])


class DeprovisioningHeld(ScimError):
    """503: the integration's brake holds deprovisioning; nothing was applied.

    Raised inside the operation's transaction; :func:`holds_recorded` records
    the hold once that transaction has rolled back.
    """

    status = 503

    def __init__(self, detail: str, *, context: ScimContext, scim_user: ScimUser,
                 burst_id: int | None, trip: tuple[int, int, int] | None) -> None:
        super().__init__(detail, headers={"Retry-After": str(app_settings.BRAKE_RETRY_AFTER)})
        self.context = context
        self.scim_user = scim_user
        self.burst_id = burst_id
        self.trip = trip  # (count, window minutes, active users) when this request tripped the brake
        self.method = ""  # the HTTP method, set by the entry point (holds_recorded)


def held_detail(count: int, window: int) -> str:
    return _(
        "Deprovisioning is paused for this integration after %(count)d deactivations and deletions "
        "in %(window)d minutes; a portal admin must release it. Nothing was changed; retry later."
    ) % {"count": count, "window": window}



# -- the check, inside the operation's transaction ------------------------------------------

def deprovisions(integration: Integration, scim_user: ScimUser, *, deleting: bool) -> bool:
    """Whether the request ends access or destroys an account (what the brake counts).

    A DELETE of a user already deactivated changes nothing about access unless the
    policy deletes accounts (Entra deletes 30 days after disabling: not a burst).
    """
    if not deleting:
        return True
    return scim_user.deactivated_at is None or integration.deprovisioning == Deprovisioning.DELETE


def check(context: ScimContext, scim_user: ScimUser, *, deleting: bool = False) -> None:
    """Count this deprovisioning, or raise :class:`DeprovisioningHeld` before anything is applied.

    Called by the write path inside the operation's transaction, after the
    user's row is locked; the count commits or rolls back with the operation.
    """
    integration = context.integration
    if not deprovisions(integration, scim_user, deleting=deleting):
        return
    brake = locked_brake(integration)
    if not brake.is_on:
        return
    if brake.approved_pending and consume_approval(brake, scim_user):
        return
    if brake.paused_by_id is not None:
        burst = DeprovisioningBurst.objects.only("count", "window_minutes").get(pk=brake.paused_by_id)
        raise DeprovisioningHeld(held_detail(burst.count, burst.window_minutes), context=context,
                                 scim_user=scim_user, burst_id=burst.pk, trip=None)
    now, window = timezone.now(), brake.window
    minutes = counted_minutes(integration)
    counted = sum(count for _pk, minute, count in minutes if minute >= window_start(now, window))
    active = over_limits(brake, counted)
    if active is not None:
        raise DeprovisioningHeld(held_detail(counted, window), context=context, scim_user=scim_user,
                                 burst_id=None, trip=(counted, window, active))
    add_one(integration, now, window, minutes)


def over_limits(brake: DeprovisioningBrake, counted: int) -> int | None:
    """The users active when the window opened, if one more would pass both limits; else ``None``.

    Those still active plus those switched off in the window; counted only once
    the count is past its limit, so a normal pace never scans the users.
    """
    if counted + 1 <= brake.limit_count:
        return None
    active = active_users(brake.integration) + counted
    return active if (counted + 1) * 100 > brake.limit_percent * active else None


def locked_brake(integration: Integration) -> DeprovisioningBrake:
    """The integration's brake row, locked until the transaction ends (created on first use)."""
    rows = DeprovisioningBrake.objects.select_for_update()
    brake = rows.filter(integration=integration).first()
    if brake is None:
        DeprovisioningBrake.objects.bulk_create([DeprovisioningBrake(integration=integration)],
                                                ignore_conflicts=True)
        brake = rows.get(integration=integration)
    brake.integration = integration
    return brake


def approved_holds(now: datetime) -> QuerySet[HeldRequest]:
    """Held requests an admin released that have not been retried, released within ``APPROVAL_TTL``."""
    return HeldRequest.objects.filter(
        applied_at__isnull=True, burst__status=BurstStatus.RELEASED, burst__decided_at__gte=now - APPROVAL_TTL,
    )


def consume_approval(brake: DeprovisioningBrake, scim_user: ScimUser) -> bool:
    """A retry of a request an admin released: it passes, once, whatever the count.

    Approvals expire ``APPROVAL_TTL`` after the release: a request that is not
    an approved retry recounts the live ones, so ``approved_pending`` falls to 0
    once the IdP has retried them all or they expired, and checks stop paying for it.
    """
    now = timezone.now()
    used = approved_holds(now).filter(scim_user=scim_user).update(applied_at=now)
    pending = DeprovisioningBrake.objects.filter(pk=brake.pk)
    if used:
        pending.filter(approved_pending__gte=used).update(approved_pending=F("approved_pending") - used)
    else:
        pending.update(approved_pending=approved_holds(now).filter(burst__integration=brake.integration).count())
    return bool(used)


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def window_start(now: datetime, window: int) -> datetime:
    """The first minute inside the window (the window slides in one-minute steps)."""
    # Clamped: a row saved before the window had its upper bound must not overflow the date.
    return minute_of(now) - timedelta(minutes=min(max(window, 1), MAX_WINDOW_MINUTES) - 1)


def counted_minutes(integration: Integration) -> list[tuple[int, datetime, int]]:
    """The integration's per-minute counts: at most ``window + 1`` rows (older ones are pruned)."""
    return list(DeprovisioningCount.objects.filter(integration=integration).values_list("pk", "minute", "count"))


def active_users(integration: Integration) -> int:
    """The integration's users SCIM shows as active (read only once the count is past its limit)."""
    return ScimUser.objects.filter(
        integration=integration, deleted_at__isnull=True, deactivated_at__isnull=True,
    ).count()


def add_one(integration: Integration, now: datetime, window: int,
            minutes: list[tuple[int, datetime, int]]) -> None:
    """Count one deprovisioning in the current minute (the brake row's lock serialises this)."""
    minute = minute_of(now)
    current = [pk for pk, at, _count in minutes if at == minute]
    if current:
        DeprovisioningCount.objects.filter(pk=current[0]).update(count=F("count") + 1)
        return
    DeprovisioningCount.objects.create(integration=integration, minute=minute, count=1)
    stale = [pk for pk, at, _count in minutes if at < window_start(now, window)]
    if stale:  # minutes that left the window: at most once a minute
        DeprovisioningCount.objects.filter(pk__in=stale).delete()


# -- recording a hold, after the operation rolled back ---------------------------------------

def holds_recorded(http_method: str) -> Callable[[F_], F_]:
    """Decorate the write-path entry point of ``http_method`` (``PUT``, ``PATCH``, ``DELETE``):
    a hold raised inside it is recorded, with that method, after its rollback."""

    def decorate(method: F_) -> F_:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except DeprovisioningHeld as held:
                held.method = http_method
                try:
                    record_hold(held)
                except DatabaseError:  # the IdP still gets its 503 and will retry; the log has the request
                    logger.exception("Could not record a held deprovisioning request")
                raise

        return wrapper  # type: ignore[return-value]

    return decorate


def record_hold(held: DeprovisioningHeld) -> HeldRequest:
    """Write the held request (and trip the brake when this request passed the threshold)."""
    integration = held.context.integration
    with transaction.atomic():
        brake = locked_brake(integration)
        burst_id = brake.paused_by_id or held.burst_id
        tripped = None
        if burst_id is None and held.trip is not None:  # check() sets one of burst_id and trip
            tripped = trip(brake, *held.trip)
            burst_id = tripped.pk
        hold = upsert_hold(burst_id, held)
    if tripped is not None:
        announce(tripped, held, brake.recipients)
    return hold


def trip(brake: DeprovisioningBrake, count: int, window: int, active: int) -> DeprovisioningBurst:
    burst = DeprovisioningBurst.objects.create(
        integration=brake.integration, tripped_at=timezone.now(), count=count,
        window_minutes=window, active_users=active,
    )
    DeprovisioningBrake.objects.filter(pk=brake.pk).update(paused_by=burst)
    logger.warning("Deprovisioning paused for integration %s after %d in %d minutes",
                   brake.integration.slug, count, window)
    return burst


def upsert_hold(burst_id: int | None, held: DeprovisioningHeld) -> HeldRequest:
    now = timezone.now()
    request_id = held.context.request_id[:64]
    rows = HeldRequest.objects.filter(burst_id=burst_id, scim_user=held.scim_user)
    if rows.update(attempts=F("attempts") + 1, last_held_at=now, request_id=request_id, method=held.method):
        return rows.get()
    return HeldRequest.objects.create(
        burst_id=burst_id, scim_user=held.scim_user, user_name=held.scim_user.user_name[:255],
        method=held.method, request_id=request_id, first_held_at=now, last_held_at=now,
    )


def announce(burst: DeprovisioningBurst, held: DeprovisioningHeld, recipients: list[str]) -> None:
    """Tell the integration's admins: the ``deprovisioning_paused`` signal and an email to
    ``recipients`` (the brake's addresses and ``BRAKE_NOTIFY_EMAILS``; ``ADMINS`` when empty)."""
    context = held.context
    signals.send_after_commit(
        signals.deprovisioning_paused, sender=DeprovisioningBurst, integration=context.integration,
        actor=context.actor, request_id=context.request_id, burst=burst,
        count=burst.count, window_minutes=burst.window_minutes,
    )
    transaction.on_commit(lambda: send_email(burst, recipients))


def send_email(burst: DeprovisioningBurst, recipients: list[str]) -> None:
    """Email ``recipients``, or ``ADMINS`` when there are none (failures are logged)."""
    subject = _("Deprovisioning paused for %s") % burst.integration.name
    body = render_to_string("scim_portal/email/deprovisioning_paused.txt", {"burst": burst})
    try:
        if recipients:
            mail.send_mail(subject, body, None, recipients)
        else:
            mail.mail_admins(subject, body)
    except Exception:
        logger.exception("Could not email the deprovisioning pause of %s", burst.integration.slug)


# -- an admin's decisions --------------------------------------------------------------------

def decide(burst: DeprovisioningBurst, decision: str, by: Any, reason: str = "") -> DeprovisioningBurst:
    """Apply an admin's decision on a burst, recorded in its history with ``reason``.

    ``released``: the held requests apply when the IdP retries them, the count starts
    afresh.  ``kept``: the brake keeps holding.  ``dismissed``: the brake resumes, the
    held requests are not approved (a retry is counted like a new request).
    """
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}")
    with transaction.atomic():
        # Every writer of a burst (trip() and here; the admin never saves one) holds its
        # integration's brake-row lock first, so the status read under this lock is current.
        brake = locked_brake(burst.integration)
        burst = DeprovisioningBurst.objects.get(pk=burst.pk)
        if not burst.holding:
            raise ValueError("this burst has been decided already")
        burst.status, burst.decided_at, burst.decided_by = decision, timezone.now(), by
        burst._change_reason = f"{BurstStatus(decision).label}: {reason}".strip(": ")[:100]
        burst._history_user = by
        burst.save()
        if decision != BurstStatus.KEPT:
            resume(brake, burst, approve=decision == BurstStatus.RELEASED)
    signals.send_after_commit(
        signals.deprovisioning_decided, sender=DeprovisioningBurst, integration=burst.integration,
        actor=by, request_id="", burst=burst, decision=decision, reason=reason,
    )
    return burst


def resume(brake: DeprovisioningBrake, burst: DeprovisioningBurst, *, approve: bool) -> None:
    pending = burst.held.filter(applied_at__isnull=True).count() if approve else 0
    updates: dict[str, Any] = {"approved_pending": F("approved_pending") + pending}
    if brake.paused_by_id == burst.pk:
        updates["paused_by"] = None
    DeprovisioningBrake.objects.filter(pk=brake.pk).update(**updates)
    # The burst's own count must not trip the brake again as soon as it resumes.
    DeprovisioningCount.objects.filter(integration=burst.integration).delete()
