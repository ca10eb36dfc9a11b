"""django-simple-history wiring: history records written during a SCIM change
name the service account as ``history_user``, say which SCIM operation made
them, and (when the history model has :class:`ScimHistoricalFields`) carry the
integration, request id and credential prefix.  Group joins and leaves, which
simple-history does not see, are recorded as ``MembershipChange`` rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from scim_portal.context import ScimContext


@dataclass(frozen=True)
class ScimChange:
    context: ScimContext
    reason: str


_current: ContextVar[ScimChange | None] = ContextVar("scim_portal_change", default=None)


@contextmanager
def scim_change(context: ScimContext, reason: str) -> Iterator[None]:
    """Attribute every history record written inside the block to a SCIM operation."""
    token = _current.set(ScimChange(context, reason))
    try:
        yield
    finally:
        _current.reset(token)


def current_change() -> ScimChange | None:
    return _current.get()


def annotate_history(sender: Any, history_instance: Any, **kwargs: Any) -> None:
    """``pre_create_historical_record`` receiver (connected in ``AppConfig.ready``)."""
    change = _current.get()
    if change is None:
        return
    context = change.context
    history_instance.history_user_id = getattr(context.actor, "pk", None)
    if not history_instance.history_change_reason:
        history_instance.history_change_reason = change.reason[:100]
    if hasattr(history_instance, "scim_integration_id"):
        history_instance.scim_integration_id = context.integration.pk
        history_instance.scim_request_id = context.request_id
        history_instance.scim_credential = context.credential_label



