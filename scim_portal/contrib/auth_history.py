"""Change history for Django's stock ``auth.User`` and ``auth.Group`` in one step.

scim_portal cannot ship the historical models of ``django.contrib.auth``: their
migration copies the host's fields, so it must live in an app the host owns
(django-simple-history's ``register(model, app=...)``).  In that app::

    # yourapp/models.py
    from scim_portal.contrib.auth_history import register_auth_history

    register_auth_history(app=__package__)

    # yourapp/admin.py
    from scim_portal.contrib.auth_history import register_auth_history_admin

    register_auth_history_admin()

then ``python manage.py makemigrations yourapp && python manage.py migrate``.
See docs/tracking.md.
"""

from __future__ import annotations

from typing import Any

from simple_history import register

from scim_portal.models import ScimHistoricalFields

#: Kept out of the user's history: a copy of every password hash is no audit
#: trail, and ``last_login`` changes at every login.
USER_EXCLUDED_FIELDS = ["password", "last_login"]


def register_auth_history(app: str, *, user: bool = True, group: bool = True) -> None:
    """Track ``auth.User`` and ``auth.Group`` with the SCIM history fields.

    ``app`` is the label of the host app whose ``models.py`` makes the call; the
    historical models (``HistoricalUser``, ``HistoricalGroup``) and their migration
    belong to it.  django-simple-history puts them in ``<app>.models``, so the
    label must also be the app's package name (``__package__`` in a top-level app).
    Call it once, from that ``models.py``.
    """
    from django.contrib.auth.models import Group, User

    if user:
        _register(User, app, excluded_fields=USER_EXCLUDED_FIELDS)
    if group:
        _register(Group, app)


def _register(model: type, app: str, **options: Any) -> None:
    register(model, app=app, bases=[ScimHistoricalFields], **options)


def register_auth_history_admin() -> None:
    """Give the stock user and group admins the SCIM history views, and list each history.

    Replaces ``django.contrib.auth``'s ``UserAdmin`` and ``GroupAdmin`` in the
    default admin site by subclasses with :class:`~scim_portal.admin.ScimHistoryAdminMixin`,
    and registers the **Change history** lists.  A host with its own user admin
    mixes ``ScimHistoryAdminMixin`` into it instead (docs/tracking.md).
    """
    from django.contrib import admin
    from django.contrib.auth.admin import GroupAdmin, UserAdmin
    from django.contrib.auth.models import Group, User

    from scim_portal.admin import ScimHistoryAdmin, ScimHistoryAdminMixin

    for model, base in ((User, UserAdmin), (Group, GroupAdmin)):
        if admin.site.is_registered(model):
            admin.site.unregister(model)
        admin.site.register(model, type(base.__name__, (ScimHistoryAdminMixin, base), {}))
        history = getattr(model, "history", None)
        if history is not None and not admin.site.is_registered(history.model):
            admin.site.register(history.model, ScimHistoryAdmin)
