"""Admin forms without JSON: attribute lists as checkboxes of known SCIM attributes, a
date-time picker for expiry, the identity provider chosen explicitly."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from scim_portal.conf import app_settings
from scim_portal.scim.schema import ENTERPRISE_USER_SCHEMA, USER_SCHEMA, Attribute

#: Always writable and always required: never offered in the lists.
IMPLICIT = {"userName", "active", "externalId", "id", "meta", "groups", "schemas"}
EXPIRES_FORMAT = "%Y-%m-%dT%H:%M"


def extension_schemas() -> list[tuple[str, str, list[str]]]:
    """``(urn, short name, attribute names)`` of the enterprise extension and the portal's own extensions."""
    enterprise = ENTERPRISE_USER_SCHEMA
    found = [(enterprise.id, enterprise.name, [a.name for a in enterprise.attributes])]
    for document in app_settings.EXTENSION_SCHEMAS:
        names = [a.get("name", "") for a in document.get("attributes", ()) if a.get("name")]
        urn = str(document.get("id", ""))
        found.append((urn, str(document.get("name") or urn), names))
    return [entry for entry in found if entry[0]]


def core_attributes() -> list[Attribute]:
    return [a for a in USER_SCHEMA.attributes if a.name not in IMPLICIT and not a.read_only]


def writable_choices() -> list[tuple[str, str]]:
    """Top-level core attributes, each extension as a whole, and each extension attribute."""
    choices = [(a.name, a.name) for a in core_attributes()]
    for urn, label, names in extension_schemas():
        choices.append((urn, _("%s (the whole extension)") % label))
        choices += [(f"{urn}:{name}", f"{label}: {name}") for name in names]
    return choices


def required_choices() -> list[tuple[str, str]]:
    """Attribute paths a create can be required to carry: sub-attributes of ``name`` included."""
    choices: list[tuple[str, str]] = []
    for attribute in core_attributes():
        choices.append((attribute.name, attribute.name))
        if attribute.name == "name":
            choices += [(f"name.{sub.name}", f"name.{sub.name}") for sub in attribute.sub_attributes]
    for urn, label, names in extension_schemas():
        choices += [(f"{urn}:{name}", f"{label}: {name}") for name in names]
    return choices


class AttributeListField(forms.MultipleChoiceField):
    """A JSON list of SCIM attribute names, edited as checkboxes; a name outside the list is refused."""

    widget = forms.CheckboxSelectMultiple(attrs={"class": "scim-attribute-list"})
    default_error_messages = {
        "invalid_choice": _("%(value)s is not a known SCIM attribute: tick attributes from the list."),
    }

    def prepare_value(self, value: Any) -> Any:
        return list(value or [])


def attribute_list_field(model_field: Any, choices: list[tuple[str, str]]) -> AttributeListField:
    return AttributeListField(choices=choices, required=False, label=model_field.verbose_name.capitalize(),
                              help_text=model_field.help_text)


class IssueTokenForm(forms.Form):
    description = forms.CharField(label=_("Description"), max_length=200, required=False,
                                  help_text=_("For example: Okta production."))
    expires_at = forms.DateTimeField(
        label=_("Expires"), required=False, input_formats=[EXPIRES_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=EXPIRES_FORMAT))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["expires_at"].help_text = _(
            "Date and time in %(zone)s, e.g. 2027-12-31 23:59 (or pick one). Leave empty for a token that "
            "does not expire.") % {"zone": settings.TIME_ZONE}
        self.fields["expires_at"].error_messages["invalid"] = _(
            "Enter a date and time as YYYY-MM-DD HH:MM, e.g. 2027-12-31 23:59.")
