"""The host portal's decision points.

Subclass :class:`ScimAdapter` and name it in ``SCIM_PORTAL["ADAPTER"]`` to change
how users and groups are scoped, created, populated and switched off.  Each
method receives the integration it acts for.  Signals notify; adapters decide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.utils.timezone import now

from scim_portal.conf import app_settings
from scim_portal.mapping import AttributeMap, default_user_attribute_map

if TYPE_CHECKING:
    from scim_portal.models import Integration, ScimGroup, ScimUser


class ScimAdapter:
    """Default behaviour; every public method is a documented extension point."""

    # -- scoping (applied in the database query) ---------------------------------
    def scope_users(self, queryset: models.QuerySet[ScimUser], integration: Integration):
        """Narrow the SCIM users an integration may see. Default: those it provisioned."""
        return queryset

    def scope_groups(self, queryset: models.QuerySet[ScimGroup], integration: Integration):
        """Narrow the SCIM groups an integration may see. Default: those it created."""
        return queryset

    # -- users --------------------------------------------------------------------
    def user_attribute_map(self, integration: Integration) -> AttributeMap:
        configured = app_settings.USER_ATTRIBUTE_MAP
        return AttributeMap(configured if configured is not None else default_user_attribute_map())

    def new_user(self, integration: Integration, values: dict[str, Any]) -> Any:
        """An unsaved host user for a SCIM create. Default: SSO-only (unusable password)."""
        user = get_user_model()(**values)
        user.set_unusable_password()
        return user

    def populate_user(self, integration: Integration, user: Any, values: dict[str, Any]) -> list[str]:
        """Copy mapped values onto the host user; return the names of changed fields."""
        changed = []
        for name, value in values.items():
            if getattr(user, name) != value:
                setattr(user, name, value)
                changed.append(name)
        return changed

    def may_link(self, integration: Integration, user: Any, document: dict[str, Any]) -> bool:
        """Whether a SCIM create may take over this existing portal account (``link_existing_users``).

        Called only for an account without a SCIM identity whose identifier matches.
        Default: only SSO accounts (no usable password), so an IdP never captures a
        local login.  Return ``False`` to answer 409 instead.
        """
        return not user.has_usable_password()

    def check_activation(self, integration: Integration, user: Any | None, document: dict[str, Any],
                         *, reactivation: bool) -> None:
        """Your own rule before an account becomes active; raise a ``ScimError`` to refuse.

        Called inside the write's transaction, after the integration's seat limit and
        reactivation rules have passed: on a create (``user`` is ``None``), on a
        reactivation and when a user the IdP deleted is created again
        (``reactivation=True``).  Nothing is saved when it raises; the IdP gets the
        error's status and detail, e.g. ``scim_portal.policies.SeatLimitReached``
        (403).  Default: no further rule.
        """

    def set_password(self, integration: Integration, user: Any, password: str) -> None:
        """Called only when ``STORE_PASSWORDS`` is on (Okta sends random passwords otherwise ignored)."""
        user.set_password(password)

    def end_access(self, integration: Integration, user: Any) -> None:
        """Called when the IdP switches a user off: end their access now.

        Default: revoke the user's OAuth access and refresh tokens. Override to
        also end sessions or API keys of your own (the example portal deletes
        the user's Django sessions).
        """
        from oauth2_provider.models import get_access_token_model, get_refresh_token_model

        get_refresh_token_model().objects.filter(user=user, revoked__isnull=True).update(revoked=now())
        get_access_token_model().objects.filter(user=user).delete()

    def session_counts(self, user_ids: list[Any]) -> dict[Any, int] | None:
        """Live login sessions per host user id, for the access review (docs/guard-rails.md).

        Called once per page of users.  Default: decodes the sessions of
        ``django.contrib.sessions``' table (one streamed pass per call), or ``None``
        ("cannot tell") for other session engines.  A portal that records sessions
        per user (like the example portal) answers with one indexed query instead.
        """
        from scim_portal.access_review import decoded_session_counts

        return decoded_session_counts(user_ids)

    def delete_user(self, integration: Integration, user: Any) -> None:
        """Permanent deletion, only under the "delete" deprovisioning policy."""
        user.delete()

    def grant_choices(self, integration: Integration | None) -> list[tuple[str, str]]:
        """The licences/profiles a group rule may grant, as (key, label), for the admin form.

        ``integration`` is ``None`` while an integration is being created.
        """
        return []

    def apply_grants(self, integration: Integration, user: Any, grants: list[str]) -> None:
        """Give the user what their IdP groups grant (most important first). Default: nothing."""

    # -- groups -------------------------------------------------------------------
    def group_model(self) -> type[models.Model]:
        return apps.get_model(app_settings.GROUP_MODEL)

    def new_group(self, integration: Integration, display_name: str) -> Any:
        """An unsaved host group for a SCIM group create."""
        return self.group_model()(**{app_settings.GROUP_NAME_FIELD: display_name})

    def rename_group(self, integration: Integration, group: Any, display_name: str) -> None:
        setattr(group, app_settings.GROUP_NAME_FIELD, display_name)


def get_adapter() -> ScimAdapter:
    return app_settings.ADAPTER()
