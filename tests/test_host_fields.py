"""What a host's user model asks of a SCIM create: required fields, an email login,
and the change history of a stock ``auth.User``.  Runs in every host of the matrix
(tests/hosts/); each test says which hosts it is about."""

from __future__ import annotations

import io
import uuid

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import models

from scim_portal import checks
from scim_portal.admin import ScimHistoryAdminMixin
from scim_portal.models import IdentityProvider, ScimUser, UniqueIdentifier
from tests.conftest import test_host
from tests.protocol import ENTERPRISE, assert_error, create_user, db_state, host_user, user_body

pytestmark = pytest.mark.django_db


def login_field() -> models.Field:
    User = get_user_model()
    return User._meta.get_field(User.USERNAME_FIELD)


email_login = pytest.mark.skipif(
    not isinstance(login_field(), models.EmailField), reason="the host's login is not an email")
only_in = {name: pytest.mark.skipif(test_host() != name, reason=f"about the {name} host")
           for name in ("stock", "emaillogin")}
DEFAULT_ADAPTER = "scim_portal.adapter.ScimAdapter"


# -- a userName going into an email login ------------------------------------------------
@email_login
def test_a_username_that_is_not_an_email_is_refused_by_an_email_login(scim):
    before = db_state()
    body = assert_error(scim.post("Users", user_body("jdoe")), 400, "invalidValue")
    assert "userName 'jdoe'" in body["detail"] and "email" in body["detail"]
    assert "work email" in body["detail"]  # says how to fix it
    assert db_state() == before


@email_login
def test_with_work_email_as_identifier_the_email_is_the_login(make_integration, scim_for):
    scim = scim_for(make_integration(IdentityProvider.ENTRA, unique_identifier=UniqueIdentifier.EMAIL))
    user_name = f"Test_User_{uuid.uuid4()}"
    body = user_body(user_name, emails=[{"value": "Kim.Lee@Example.com", "type": "work", "primary": True}])
    created = create_user(scim, user_name, **{k: v for k, v in body.items() if k != "userName"})
    assert created["userName"] == user_name
    account = host_user("kim.lee@example.com")
    assert getattr(account, get_user_model().USERNAME_FIELD) == "Kim.Lee@Example.com"
    found = scim.get(f'Users?filter=userName eq "{user_name}"')
    assert [r["id"] for r in found.json_body["Resources"]] == [created["id"]]
    # a later email change moves the login with it
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "kim@example.com"}]}
    assert scim.patch(f"Users/{created['id']}", patch).status_code == 200
    assert host_user("kim@example.com").pk == account.pk


@only_in["stock"]
def test_a_stock_username_is_checked_by_the_username_validator(scim):
    work = [{"value": "jdoe@example.com", "type": "work", "primary": True}]
    assert create_user(scim, "jdoe", emails=work)["userName"] == "jdoe"
    assert host_user("jdoe").email == "jdoe@example.com"
    before = db_state()
    body = assert_error(scim.post("Users", user_body("j doe!", emails=work)), 400, "invalidValue")
    assert "userName 'j doe!'" in body["detail"]
    body = assert_error(scim.post("Users", user_body("jdoe2")), 400, "invalidValue")
    assert "emails 'jdoe2'" in body["detail"]  # the email field is validated as one too
    assert db_state() == before


# -- required host fields ------------------------------------------------------------------
@only_in["emaillogin"]
def test_the_hosts_adapter_fills_the_required_field(scim):
    assert checks.check_models() == []
    create_user(scim, "filled@example.com")
    assert host_user("filled@example.com").employee_number.startswith("S-")


@only_in["emaillogin"]
def test_an_unfilled_required_field_is_a_check_warning(settings):
    settings.SCIM_PORTAL = {}
    messages = checks.check_models()
    assert [m.id for m in messages] == ["scim_portal.W030"]
    assert "employee_number" in messages[0].msg and "filled_user_fields" in messages[0].hint
    out = io.StringIO()
    call_command("check", stdout=out, stderr=out)
    assert "scim_portal.W030" in out.getvalue()
    with pytest.raises(SystemCheckError, match="employee_number"):
        call_command("check", fail_level="WARNING", stdout=io.StringIO(), stderr=io.StringIO())


@only_in["emaillogin"]
def test_a_create_without_a_required_field_is_400_not_an_empty_string(scim, settings):
    settings.SCIM_PORTAL = {"ADAPTER": DEFAULT_ADAPTER}
    before = db_state()
    body = assert_error(scim.post("Users", user_body("empty@example.com")), 400, "invalidValue")
    assert "employee_number" in body["detail"] and "new_user" in body["detail"]
    assert db_state() == before
    assert not get_user_model().objects.filter(employee_number="").exists()


@only_in["emaillogin"]
def test_a_mapped_required_field_must_be_sent(scim, settings):
    employee_number = f"{ENTERPRISE}:employeeNumber"
    settings.SCIM_PORTAL = {"ADAPTER": DEFAULT_ADAPTER, "USER_ATTRIBUTE_MAP": {
        "userName": "email", "name.givenName": "first_name", "name.familyName": "last_name",
        "active": "is_active", employee_number: "employee_number"}}
    assert checks.check_models() == []
    body = assert_error(scim.post("Users", user_body("nonum@example.com")), 400, "invalidValue")
    assert employee_number in body["detail"]
    created = create_user(scim, "num@example.com", **{ENTERPRISE: {"employeeNumber": "4711"}})
    assert host_user("num@example.com").employee_number == "4711"
    # a PUT that leaves it out does not empty it either
    assert_error(scim.put(f"Users/{created['id']}", user_body("num@example.com")), 400, "invalidValue")
    assert host_user("num@example.com").employee_number == "4711"


def test_no_required_field_warning_for_this_hosts_configuration():
    assert [m for m in checks.check_models() if m.id == "scim_portal.W030"] == []


# -- history of a stock auth.User ------------------------------------------------------------
@only_in["stock"]
def test_a_scim_create_is_in_the_stock_users_history(scim, integration):
    created = create_user(scim, "hist@example.com")
    user = host_user("hist@example.com")
    record = user.history.get()
    assert record.history_type == "+"
    assert record.history_user == integration.service_account
    assert record.scim_integration_id == integration.pk
    assert record.history_change_reason == "SCIM POST Users"
    with pytest.raises(FieldDoesNotExist):
        record._meta.get_field("password")
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
             "Operations": [{"op": "replace", "path": "active", "value": False}]}
    assert scim.patch(f"Users/{created['id']}", patch).status_code == 200
    assert [r.is_active for r in user.history.order_by("history_id")] == [True, False]
    assert ScimUser.objects.get(user=user).deactivated_at is not None


@only_in["stock"]
def test_a_scim_group_is_in_the_stock_groups_history(scim, integration):
    from django.contrib.auth.models import Group

    response = scim.post("Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                    "displayName": "Auditors"})
    assert response.status_code == 201
    record = Group.objects.get(name="Auditors").history.get()
    assert (record.history_user, record.scim_integration_id) == (integration.service_account, integration.pk)


@only_in["stock"]
def test_the_stock_admins_show_the_scim_history():
    from django.contrib.auth.models import Group

    User = get_user_model()
    for model in (User, Group):
        assert isinstance(admin.site._registry[model], ScimHistoryAdminMixin)
        assert admin.site.is_registered(model.history.model)


# -- the host's own migrations and shell ------------------------------------------------------
def test_the_hosts_migrations_match_its_models():
    """The history migrations of the host's app are written and complete (``makemigrations --check``)."""
    call_command("makemigrations", check=True, dry_run=True, verbosity=0)


def test_the_shell_imports_every_model():
    """Django's ``shell`` imports each model by its module path; historical ones included."""
    out = io.StringIO()
    call_command("shell", command="pass", verbosity=2, stdout=out)
    assert "could not be automatically imported" not in out.getvalue()
    assert "HistoricalIntegration" in out.getvalue()
