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
from importlib import import_module
from typing import Any

from django.apps import AppConfig
from django.utils import timezone

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


def record_membership(sender: Any, group: Any, added: list[Any], removed: list[Any], integration: Any,
                      actor: Any, request_id: str, **kwargs: Any) -> None:
    """``group_membership_changed`` receiver: one ``MembershipChange`` row per person who joined or left.

    Sent after commit, so only changes that happened are recorded: one
    statement for one member (the usual Okta and Entra PATCH), one transaction
    for more, sized by the members the request named.
    """
    from scim_portal.conf import app_settings
    from scim_portal.models import Membership, MembershipChange

    now = timezone.now()
    name = str(getattr(group, app_settings.GROUP_NAME_FIELD, group))[:255]
    common = {"created": now, "integration": integration, "group_id": kwargs.get("group_id", group.pk),
              "group_name": name, "actor_id": getattr(actor, "pk", None), "request_id": request_id}
    rows = [MembershipChange(user_id=user_id, change=Membership.JOINED, **common) for user_id in added]
    rows += [MembershipChange(user_id=user_id, change=Membership.LEFT, **common) for user_id in removed]
    if len(rows) == 1:
        rows[0].save()  # one INSERT in autocommit; bulk_create would add BEGIN and COMMIT
    elif rows:
        MembershipChange.objects.bulk_create(rows, batch_size=5000)


def expose_historical_models(app_config: AppConfig) -> None:
    """Make each historical model of the app importable from its ``__module__``.

    simple-history names our history models' module ``scim_portal`` (the app) but
    puts them in the submodule of the tracked model, so Django's ``shell`` failed
    to import them ("4 objects could not be automatically imported").
    """
    for model in app_config.get_models():
        module = import_module(model.__module__)
        if not hasattr(module, model.__name__):
            setattr(module, model.__name__, model)
