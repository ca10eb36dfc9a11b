"""The host portal's decision points.

Subclass :class:`ScimAdapter` and name it in ``SCIM_PORTAL["ADAPTER"]`` to change
how users and groups are scoped, created, populated and switched off.  Each
method receives the integration it acts for.  Signals notify; adapters decide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext as _

from scim_portal.conf import app_settings
from scim_portal.exceptions import InvalidValue
from scim_portal.mapping import EMAILS, AttributeMap, default_user_attribute_map

if TYPE_CHECKING:
    from scim_portal.models import Integration, ScimGroup, ScimUser


class ScimAdapter:
    """Default behaviour; every public method is a documented extension point."""

    #: Host user fields your :meth:`new_user` fills itself (e.g. a generated employee
    #: number).  Required fields listed here are not reported by the ``scim_portal.W030``
    #: check; a create must still end with a value in them.
    filled_user_fields: ClassVar[tuple[str, ...]] = ()

    # -- scoping (applied in the database query) ---------------------------------
    def scope_users(self, queryset: models.QuerySet[ScimUser], integration: Integration):
        """Narrow the SCIM users an integration may see. Default: those it provisioned."""
        return queryset

    def scope_groups(self, queryset: models.QuerySet[ScimGroup], integration: Integration):
        """Narrow the SCIM groups an integration may see. Default: those it created."""
        return queryset

    # -- users --------------------------------------------------------------------
    def user_attribute_map(self, integration: Integration) -> AttributeMap:
        """``USER_ATTRIBUTE_MAP``, else the map derived from the user model.

        In the derived map of an email-login user model (``USERNAME_FIELD`` is the
        email field), an integration whose unique identifier is the work email signs
        people in with their primary email, not with ``userName``.
        """
        configured = app_settings.USER_ATTRIBUTE_MAP
        if configured is not None:
            return AttributeMap(configured)
        return AttributeMap(email_login_map(integration, default_user_attribute_map()))

    def new_user(self, integration: Integration, values: dict[str, Any]) -> Any:
        """An unsaved host user for a SCIM create. Default: SSO-only (unusable password).

        To fill a field the IdP does not send (a required ``employee_number``, a
        tenant), add it to ``values`` before calling ``super().new_user()`` and list it
        in :attr:`filled_user_fields`.  The values are validated with the model
        fields' own validators; a value that fails, or a required field left empty,
        is a 400 ``invalidValue`` naming it (RFC 7644 section 3.12).
        """
        validate_user_values(values, lambda: self.user_attribute_map(integration))
        missing = [f.name for f in required_user_fields(self.filled_user_fields)
                   if values.get(f.name) in (None, "")]
        if missing:
            raise InvalidValue(missing_fields_detail(missing, self.user_attribute_map(integration)))
        user = get_user_model()(**values)
        user.set_unusable_password()
        return user

    def populate_user(self, integration: Integration, user: Any, values: dict[str, Any]) -> list[str]:
        """Copy mapped values onto the host user; return the names of changed fields.

        Values are validated as in :meth:`new_user`; a required field is never emptied.
        """
        validate_user_values(values, lambda: self.user_attribute_map(integration))
        required = {f.name for f in required_user_fields()}
        emptied = [name for name in required if name in values and values[name] in (None, "")]
        if emptied:
            raise InvalidValue(missing_fields_detail(sorted(emptied), self.user_attribute_map(integration)))
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

        An override is called once per page of users.  Default: the sessions of
        ``django.contrib.sessions``' table, decoded in one streamed pass per review
        (not per page), or ``None`` ("cannot tell") for other session engines.  A
        portal that records sessions per user (like the example portal) answers with
        one indexed query per page instead.
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


def email_login_map(integration: Integration, mapping: dict[str, str]) -> dict[str, str]:
    """The derived map for an integration whose unique identifier is the work email.

    An Okta or Entra admin who picks "email" as the unique identifier expects the
    person's email to be their login, whatever ``userName`` holds (Entra's default
    ``userPrincipalName`` is often not a deliverable address).  Only for an
    email-login user model; ``userName`` is still stored and returned by scim_portal.
    """
    from scim_portal.models import UniqueIdentifier

    model = get_user_model()
    if integration.unique_identifier != UniqueIdentifier.EMAIL:
        return mapping
    if mapping.get("userName") != model.get_email_field_name():
        return mapping
    result = {path: field for path, field in mapping.items() if path != "userName"}
    result[EMAILS] = model.USERNAME_FIELD
    return result


def required_user_fields(skip: Iterable[str] = ()) -> list[models.Field]:
    """User model fields a create must fill: editable, not blank, no default.

    ``USERNAME_FIELD`` (from ``userName``) and ``password`` (made unusable) are
    always filled and never listed, nor are the fields named in ``skip``.
    """
    model = get_user_model()
    excluded = {model.USERNAME_FIELD, "password", *skip}
    return [
        field for field in model._meta.concrete_fields
        if field.editable and not field.blank and not field.has_default() and not field.primary_key
        and field.name not in excluded
    ]


def validated_form(field: Any, value: Any) -> Any:
    """What a host field's validators are shown of a value.

    The form a person reads (``models.resources.visible_form``): an IdP's stray zero-width
    space or fullwidth letter is one name with the plain one, not an invalid email.  For an
    ``EmailField``, letters beyond ASCII in the local part stand as ``x``: RFC 6531 allows
    them (``josé@example.com``), Django's validator knows ASCII only.
    """
    from scim_portal.models.resources import visible_form

    if not isinstance(value, str):
        return value
    text = visible_form(value)
    if isinstance(field, models.EmailField) and "@" in text:
        local, _, domain = text.rpartition("@")
        local = "".join(c if c.isascii() or not c.isalnum() else "x" for c in local)
        text = f"{local}@{domain}"
    return text


def validate_user_values(values: dict[str, Any], attribute_map: Callable[[], AttributeMap]) -> None:
    """Run each host field's own validators (an ``EmailField`` wants an email); 400 naming the attribute.

    ``attribute_map`` is called only to word that 400.  A name that is no model field (a
    property the host maps) has no validators to run.
    """
    model = get_user_model()
    for name, value in values.items():
        if value in (None, ""):
            continue
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if not isinstance(field, models.Field):  # a reverse relation: nothing of its own to validate
            continue
        try:  # validators see the field's Python value, as in Field.clean()
            field.run_validators(validated_form(field, field.to_python(value)))
        except ValidationError as exc:
            raise InvalidValue(invalid_value_detail(name, value, exc, attribute_map())) from exc


def scim_path_of(field_name: str, attribute_map: AttributeMap) -> str:
    for path, name in attribute_map.fields.items():
        if name == field_name:
            return path
    return field_name


def invalid_value_detail(field_name: str, value: Any, exc: ValidationError, attribute_map: AttributeMap) -> str:
    path = scim_path_of(field_name, attribute_map)
    model = get_user_model()
    detail = _("%(path)s %(value)r is not valid in this portal: %(reason)s") % {
        "path": path, "value": value, "reason": " ".join(exc.messages)}
    if path == "userName" and field_name == model.get_email_field_name():
        detail += " " + _(
            "This portal signs people in with their email: send an email as userName (Okta: application "
            "username format \"Email\"; Entra ID: userPrincipalName or mail), or choose \"work email\" as "
            "the integration's unique identifier.")
    return detail


def missing_fields_detail(field_names: list[str], attribute_map: AttributeMap) -> str:
    mapped = [scim_path_of(name, attribute_map) for name in field_names if name in attribute_map.fields.values()]
    unmapped = [name for name in field_names if name not in attribute_map.fields.values()]
    parts = []
    if mapped:
        parts.append(_("Missing required attribute(s): %s.") % ", ".join(mapped))
    if unmapped:
        parts.append(_(
            "The portal requires the user field(s) %s, which no SCIM attribute fills: the portal "
            "administrator must map an attribute to them (USER_ATTRIBUTE_MAP) or fill them in the "
            "adapter's new_user().") % ", ".join(unmapped))
    return " ".join(parts)


def get_adapter() -> ScimAdapter:
    return app_settings.ADAPTER()
