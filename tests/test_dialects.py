"""IdP dialects: what each carries, the registry setting and its checks, and no IdP test outside idp/."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from scim_portal.conf import app_settings
from scim_portal.idp import BUILT_IN, get_dialect, registry
from scim_portal.idp.base import Dialect, OAuthDefaults
from scim_portal.idp.entra import EntraDialect, remove_by_value
from scim_portal.idp.generic import GenericDialect
from scim_portal.idp.okta import OktaDialect
from scim_portal.models import IdentityProvider, Integration
from scim_portal.models.integration import provider_choices
from scim_portal.scim.filters import MAX_FILTER_LENGTH, parse_path
from scim_portal.scim.normalize import normalize_resource
from scim_portal.scim.patch import Operation
from scim_portal.scim.schema import GROUP, USER
from tests.protocol import create_group, create_user, patch_body

PACKAGE = Path(__file__).resolve().parent.parent / "scim_portal"
#: An IdP decided by comparing the provider, anywhere but in the dialects.
PROVIDER_TEST = re.compile(
    r"provider\s*[!=]=|[!=]=\s*IdentityProvider\.|IdentityProvider\.\w+\s*[!=]=|provider\s+(?:not\s+)?in\b"
)


class KeycloakDialect(Dialect):
    """A host's dialect: RFC behaviour, but group PATCH answers with the group."""

    name = "keycloak"
    label = "Keycloak"
    group_patch_status = 200


def test_no_provider_comparison_outside_idp():
    offenders = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for path in PACKAGE.rglob("*.py")
        if "idp" not in path.relative_to(PACKAGE).parts[:1] and "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if PROVIDER_TEST.search(line)
    ]
    assert offenders == [], "IdP quirks belong in scim_portal/idp/: " + "; ".join(offenders)


def test_the_provider_test_would_catch_the_old_decision():
    assert PROVIDER_TEST.search("generic = integration.provider == IdentityProvider.GENERIC")
    assert PROVIDER_TEST.search("if IdentityProvider.ENTRA == integration.provider:")
    assert not PROVIDER_TEST.search("dialect=context.integration.provider if context else ''")


def test_built_in_dialects_and_fallback():
    assert registry() == BUILT_IN
    assert isinstance(get_dialect("entra"), EntraDialect)
    assert isinstance(get_dialect("okta"), OktaDialect)
    assert isinstance(get_dialect("no-such-idp"), GenericDialect)
    assert {key for key, _label in provider_choices()} == set(IdentityProvider.values)


def test_oauth_defaults_per_dialect(settings):
    okta = OktaDialect().oauth_defaults()
    assert okta.grant_type == "authorization-code"  # Okta's FAQ: no client credentials
    assert okta.redirect_uris == tuple(app_settings.OAUTH_REDIRECT_URI_TEMPLATES)
    assert EntraDialect().oauth_defaults() == OAuthDefaults("client-credentials", ())  # no Okta callbacks
    assert GenericDialect().oauth_defaults() == OAuthDefaults("client-credentials", ())


# -- the registry setting ------------------------------------------------------------------


@pytest.fixture
def keycloak(settings, make_integration, scim_for):
    settings.SCIM_PORTAL = {"DIALECTS": {"keycloak": "tests.test_dialects.KeycloakDialect"}}
    return scim_for(make_integration("keycloak"))


def test_custom_dialect_is_stored_chosen_and_used(keycloak):
    integration = Integration.objects.get(provider="keycloak")
    integration.full_clean()  # a registered key is a valid choice
    assert ("keycloak", "Keycloak") in provider_choices()
    assert isinstance(integration.dialect, KeycloakDialect)
    user_id = create_user(keycloak, "kc@example.com")["id"]
    group = create_group(keycloak, "KC")
    response = keycloak.patch(f"Groups/{group['id']}", patch_body(
        {"op": "add", "path": "members", "value": [{"value": user_id}]}))
    assert response.status_code == 200  # the dialect's choice
    assert [m["value"] for m in response.json_body["members"]] == [user_id]


class NotADialect:
    """A class with a dialect's look but not its base: every hook a request calls is missing."""

    name = "keycloak"
    label = "Keycloak"


@pytest.mark.parametrize("entry", [NotADialect, "tests.test_dialects.NotADialect"])
def test_a_registered_class_that_is_not_a_dialect_is_refused(settings, make_integration, scim_for, entry):
    """Checks do not run under a WSGI server: the registry itself refuses what E031 reports, and
    the integration is served by the generic dialect instead of failing on each request."""
    settings.SCIM_PORTAL = {"DIALECTS": {"keycloak": entry}}
    assert "keycloak" not in registry()
    assert type(get_dialect("keycloak")) is GenericDialect
    client = scim_for(make_integration("keycloak"))
    user_id = create_user(client, "not.a.dialect@example.com")["id"]
    group = create_group(client, "Not a dialect", members=[user_id])
    remove = patch_body({"op": "Remove", "path": "members", "value": [{"value": user_id}]})
    assert client.patch(f"Groups/{group['id']}", remove).status_code == 204
    assert "scim_portal.E031" in run_check()


def test_unregistered_provider_is_not_a_valid_choice(settings, make_integration):
    integration = make_integration(IdentityProvider.GENERIC)
    integration.provider = "keycloak"
    with pytest.raises(ValidationError, match="provider"):
        integration.full_clean()


def test_base_dialect_is_strict_rfc(settings, make_integration, scim_for):
    """Registered as is, the base class takes RFC 7644 shapes only: Entra's legacy ones get 400."""
    settings.SCIM_PORTAL = {"DIALECTS": {"rfc": "scim_portal.idp.base.Dialect"}}
    strict = scim_for(make_integration("rfc"))
    user_id = create_user(strict, "rfc@example.com")["id"]
    group = create_group(strict, "RFC", members=[user_id])
    legacy_remove = patch_body({"op": "Remove", "path": "members", "value": [{"value": user_id}]})
    assert strict.patch(f"Groups/{group['id']}", legacy_remove).json_body["scimType"] == "invalidSyntax"
    lower_remove = patch_body({"op": "remove", "path": "members", "value": [{"value": user_id}]})
    answer = strict.patch(f"Groups/{group['id']}", lower_remove)
    assert answer.status_code == 400 and "members[value eq" in answer.json_body["detail"]
    assert [m["value"] for m in strict.get(f"Groups/{group['id']}").json_body["members"]] == [user_id]
    string_boolean = patch_body({"op": "replace", "path": "active", "value": "False"})
    assert strict.patch(f"Users/{user_id}", string_boolean).json_body["scimType"] == "invalidValue"
    no_mobile = patch_body({"op": "replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": "555"})
    assert strict.patch(f"Users/{user_id}", no_mobile).json_body["scimType"] == "noTarget"  # RFC 7644 3.5.2.3


@pytest.mark.parametrize("provider", ["okta", "generic", "entra"])
def test_built_in_dialects_read_the_unambiguous_spellings(provider, make_integration, scim_for):
    """Capitalised ops, booleans as strings and removal by value are applied, not refused,
    whatever built-in dialect the integration names (only a registered base Dialect is strict)."""
    client = scim_for(make_integration(provider))
    user_id = create_user(client, f"{provider}.spell@example.com")["id"]
    group = create_group(client, f"Spellings {provider}", members=[user_id])
    remove = patch_body({"op": "Remove", "path": "members", "value": [{"value": user_id}]})
    assert client.patch(f"Groups/{group['id']}", remove).status_code == 204
    assert client.get(f"Groups/{group['id']}").json_body.get("members", []) == []
    deactivate = patch_body({"op": "Replace", "path": "active", "value": "False"})
    assert client.patch(f"Users/{user_id}", deactivate).status_code in (200, 204)
    assert client.get(f"Users/{user_id}").json_body["active"] is False


# -- checks, through manage.py check ---------------------------------------------------------


def run_check() -> str:
    try:
        call_command("check")
    except SystemCheckError as error:
        return str(error)
    return ""


@pytest.mark.parametrize(
    ("dialects", "check_id"),
    [
        ({"keycloak": "tests.test_dialects.NoSuchDialect"}, "scim_portal.E031"),
        ({"keycloak": "no_such_module.Dialect"}, "scim_portal.E031"),
        ({"keycloak": "tests.test_dialects.run_check"}, "scim_portal.E031"),  # not a Dialect subclass
        ({"KeyCloak IdP": "tests.test_dialects.KeycloakDialect"}, "scim_portal.E030"),
        ({"k" * 21: "tests.test_dialects.KeycloakDialect"}, "scim_portal.E030"),
        (["tests.test_dialects.KeycloakDialect"], "scim_portal.E030"),
    ],
)
def test_manage_py_check_fails_for_bad_dialects(settings, dialects, check_id):
    settings.SCIM_PORTAL = {"DIALECTS": dialects}
    output = run_check()
    assert check_id in output
    assert "HINT" in output


def test_manage_py_check_passes_for_a_good_dialect(settings):
    settings.SCIM_PORTAL = {"DIALECTS": {"keycloak": "tests.test_dialects.KeycloakDialect"}}
    assert "scim_portal.E03" not in run_check()


def test_removal_by_value_is_split_into_paths_the_engine_reads():
    """50 values per filtered remove, fewer when long values would outgrow a path."""
    ids = [str(uuid.uuid4()) for _ in range(120)]
    removes = remove_by_value(Operation("remove", "members", [{"value": i} for i in ids]), GROUP)
    assert [r.path.count(" or ") + 1 for r in removes] == [50, 50, 20]
    assert [v for r in removes for v in re.findall(r'"([^"]+)"', r.path)] == ids
    emails = [f"{'x' * 1000}{i}@example.com" for i in range(9)]
    removes = remove_by_value(Operation("remove", "emails", [{"value": e} for e in emails]), USER)
    assert len(removes) == 3 and all(len(r.path) <= MAX_FILTER_LENGTH for r in removes)
    assert [parse_path(r.path).filter is not None for r in removes] == [True] * 3


@pytest.mark.parametrize("dialect", [EntraDialect, GenericDialect, OktaDialect])
def test_json_encoded_app_roles_are_decoded_by_the_built_in_dialects(dialect):
    role = '{"id":"r1","value":"Admin","displayName":"Administrator","primary":"true"}'
    body = {"userName": "r@example.com", "Roles": [{"value": role}, role],
            "entitlements": [{"value": "{not json"}]}
    shaped = normalize_resource(dialect().prepare_resource(body, USER), USER).resource
    decoded = {"value": "Admin", "display": "Administrator", "primary": True}
    assert shaped["roles"] == [decoded, {"value": "Admin", "display": "Administrator"}]  # one primary
    assert shaped["entitlements"] == [{"value": "{not json"}]
    patch = dialect().prepare_patch(patch_body({"op": "Add", "path": "roles", "value": [{"value": role}]}), USER)
    assert patch["Operations"][0]["value"] == [{"id": "r1", "value": "Admin", "display": "Administrator",
                                                "primary": True}]


def test_the_base_dialect_keeps_json_encoded_app_roles_as_sent():
    role = {"value": '{"id":"r1","value":"Admin"}'}
    body = Dialect().prepare_resource({"userName": "r@example.com", "roles": [role]}, USER)
    assert normalize_resource(body, USER).resource["roles"] == [role]
