"""Provisioning policies, each with its default and its alternatives, through real
SCIM requests in Okta's and Entra's shapes, checked in the database."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken

from portal.models import Licence
from portal.scim import PortalScimAdapter
from scim_portal import policies, signals
from scim_portal.adapter import get_adapter
from scim_portal.exceptions import Forbidden, Uniqueness
from scim_portal.models import (
    Deprovisioning,
    GroupRule,
    IdentityProvider,
    ScimGroup,
    ScimToken,
    ScimUser,
    UniqueIdentifier,
    UnknownAttributes,
)
from tests.conftest import ScimClient, at_once, parallel_posts

pytestmark = pytest.mark.django_db

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


# -- request bodies as the IdPs send them (see tests/fixtures/idp/) -----------------------

def okta_user(user_name: str, *, email: str | None = None, given: str = "Test", family: str = "User",
              active: bool = True, **extra: Any) -> dict[str, Any]:
    body = {
        "schemas": [USER], "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": True, "value": email or user_name, "type": "work"}],
        "displayName": f"{given} {family}", "locale": "en-US", "externalId": uuid.uuid4().hex[:20],
        "groups": [], "password": "1mz050nq", "active": active,
    }
    body.update(extra)
    return body


def entra_user(user_name: str, *, email: str | None = None, given: str | None = "Kim",
               family: str | None = "Unua", active: bool = True) -> dict[str, Any]:
    name = {k: v for k, v in (("givenName", given), ("familyName", family)) if v is not None}
    body: dict[str, Any] = {
        "schemas": [USER, ENTERPRISE], "externalId": str(uuid.uuid4()), "userName": user_name,
        "active": active, "meta": {"resourceType": "User"}, "name": name, "roles": [],
        ENTERPRISE: {"employeeNumber": "701984", "department": "Tour Operations"},
    }
    if email is not None:
        body["emails"] = [{"primary": True, "type": "work", "value": email}]
    return body


def okta_put(scim_id: str, body: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in body.items() if k != "password"}
    body["id"] = scim_id
    return body


def okta_active(active: bool) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": active}}]}


def entra_active(active: bool) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": str(active)}]}


def entra_replace(path: str, value: Any) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": path, "value": value}]}


def members_add(*scim_ids: str) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": i} for i in scim_ids]}]}


def members_remove(scim_id: str) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": f'members[value eq "{scim_id}"]'}]}


def assert_error(response, status: int, scim_type: str | None = None, *fragments: str) -> None:
    body = response.json_body
    assert response.status_code == status, body
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    if scim_type is None:
        assert "scimType" not in body
    else:
        assert body["scimType"] == scim_type
    for fragment in fragments:
        assert fragment in body["detail"], body["detail"]


def created(response) -> ScimUser:
    assert response.status_code == 201, response.json_body
    return ScimUser.objects.select_related("user").get(scim_id=response.json_body["id"])


def users_named(email: str) -> int:
    return get_user_model().objects.filter(email__iexact=email).count()


def with_policy(provider: IdentityProvider, make_integration, scim_for):
    """A factory: an integration of ``provider`` with the given policy fields, and a SCIM client for it."""

    def make(**policy: Any):
        integration = make_integration(provider, **policy)
        return integration, scim_for(integration)

    return make


# These two replace conftest's ``entra`` client in this module: here each test sets the policy.
@pytest.fixture
def okta(make_integration, scim_for):
    return with_policy(IdentityProvider.OKTA, make_integration, scim_for)


@pytest.fixture
def entra(make_integration, scim_for):
    return with_policy(IdentityProvider.ENTRA, make_integration, scim_for)


@pytest.fixture
def sso_user():
    def make(email: str, **fields: Any):
        user = get_user_model().objects.create_user(email=email, **fields)
        user.set_unusable_password()
        user.save()
        return user

    return make


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


@pytest.fixture
def received():
    """What each signal sent.  Signals go out on commit: wrap the requests in
    ``django_capture_on_commit_callbacks(execute=True)``."""
    log: list[tuple[Any, dict[str, Any]]] = []
    connected = []
    for name in ("user_provisioned", "user_updated", "user_deactivated", "user_reactivated", "user_deleted",
                 "group_membership_changed", "provisioning_failed"):
        signal = getattr(signals, name)

        def receiver(sender, signal=signal, **kwargs):
            log.append((signal, kwargs))

        signal.connect(receiver, weak=False)
        connected.append((signal, receiver))
    yield lambda signal: [kwargs for sent, kwargs in log if sent is signal]
    for signal, receiver in connected:
        signal.disconnect(receiver)


# == Identity matching =====================================================================

class TestIdentity:
    def test_username_rename_by_put_updates_the_same_account(self, okta):
        """Okta renames with PUT: one account, renamed in place (never a second account)."""
        _integration, client = okta()
        body = okta_user("ann@example.com")
        scim_user = created(client.post("Users", body))
        pk = scim_user.user_id

        renamed = dict(body, userName="ann.smith@example.com",
                       emails=[{"primary": True, "value": "ann.smith@example.com", "type": "work"}])
        response = client.put(f"Users/{scim_user.scim_id}", okta_put(str(scim_user.scim_id), renamed))

        assert response.status_code == 200, response.json_body
        assert response.json_body["userName"] == "ann.smith@example.com"
        assert get_user_model().objects.get(pk=pk).email == "ann.smith@example.com"
        assert users_named("ann@example.com") == 0
        assert ScimUser.objects.count() == 1 and ScimUser.objects.get().user_id == pk
        # The IdP's lookup before its next create finds the renamed account, not nothing.
        found = client.get('Users?filter=userName eq "ANN.SMITH@example.com"').json_body
        assert [r["id"] for r in found["Resources"]] == [str(scim_user.scim_id)]
        # ...and a create under the new name is a duplicate, not a second account.
        assert_error(client.post("Users", okta_user("ann.smith@example.com")), 409, "uniqueness")
        assert get_user_model().objects.exclude(scim_integrations__isnull=False).count() == 1

    def test_username_rename_by_entra_patch_updates_the_same_account(self, entra):
        _integration, client = entra()
        scim_user = created(client.post("Users", entra_user("kim@contoso.com", email="kim@contoso.com")))
        response = client.patch(f"Users/{scim_user.scim_id}", entra_replace("userName", "kim.unua@contoso.com"))
        assert response.status_code == 200, response.json_body
        scim_user.refresh_from_db()
        scim_user.user.refresh_from_db()
        assert scim_user.user_name == "kim.unua@contoso.com"
        assert scim_user.user.email == "kim.unua@contoso.com"
        assert ScimUser.objects.count() == 1
        assert users_named("kim@contoso.com") == 0

    def test_case_only_rename_keeps_one_working_account(self, okta):
        """The seed's failure: a case-only rename deactivated the account and it could not come back."""
        _integration, client = okta()
        body = okta_user("bob@example.com")
        scim_user = created(client.post("Users", body))
        pk, scim_id = scim_user.user_id, str(scim_user.scim_id)

        upper = dict(body, userName="Bob@Example.com")
        response = client.put(f"Users/{scim_id}", okta_put(scim_id, upper))
        assert response.status_code == 200, response.json_body
        assert response.json_body["active"] is True

        assert ScimUser.objects.count() == 1
        user = get_user_model().objects.get(pk=pk)
        assert user.is_active is True
        assert user.email.lower() == "bob@example.com"
        for spelling in ("bob@example.com", "BOB@EXAMPLE.COM", "Bob@Example.com"):
            found = client.get(f'Users?filter=userName eq "{spelling}"').json_body
            assert [r["id"] for r in found["Resources"]] == [scim_id], spelling
        # Deactivation and reactivation still work on the account after the case change.
        assert client.patch(f"Users/{scim_id}", okta_active(False)).status_code == 200
        assert get_user_model().objects.get(pk=pk).is_active is False
        reactivated = client.patch(f"Users/{scim_id}", okta_active(True))
        assert reactivated.status_code == 200 and reactivated.json_body["active"] is True
        assert get_user_model().objects.get(pk=pk).is_active is True
        assert get_user_model().objects.count() == 2  # the service account and Bob

    def test_case_only_rename_through_entra_patch(self, entra):
        _integration, client = entra()
        scim_user = created(client.post("Users", entra_user("Kim@Contoso.com", email="kim@contoso.com")))
        response = client.patch(f"Users/{scim_user.scim_id}", entra_replace("userName", "kim@contoso.com"))
        assert response.status_code == 200, response.json_body
        assert ScimUser.objects.count() == 1
        assert ScimUser.objects.get().user_id == scim_user.user_id
        assert get_user_model().objects.get(pk=scim_user.user_id).is_active is True

    def test_rename_onto_another_users_name_is_refused_and_changes_nothing(self, okta):
        _integration, client = okta()
        first = created(client.post("Users", okta_user("one@example.com")))
        created(client.post("Users", okta_user("two@example.com")))
        body = okta_put(str(first.scim_id), okta_user("TWO@example.com", given="Changed"))
        assert_error(client.put(f"Users/{first.scim_id}", body), 409, "uniqueness")
        first.refresh_from_db()
        first.user.refresh_from_db()
        assert first.user_name == "one@example.com"
        assert (first.user.email, first.user.first_name) == ("one@example.com", "Test")

    def test_create_differing_only_in_case_is_a_duplicate(self, okta):
        _integration, client = okta()
        created(client.post("Users", okta_user("carol@example.com")))
        assert_error(client.post("Users", okta_user("CAROL@example.COM")), 409, "uniqueness")
        assert ScimUser.objects.count() == 1 and users_named("carol@example.com") == 1

    def test_existing_portal_user_is_not_linked_by_default(self, okta, sso_user):
        _integration, client = okta()
        existing = sso_user("dora@example.com", first_name="Local")
        assert_error(client.post("Users", okta_user("dora@example.com", given="Dora")), 409, "uniqueness")
        existing.refresh_from_db()
        assert existing.first_name == "Local"
        assert not ScimUser.objects.exists()

    def test_linking_takes_over_an_existing_sso_account(self, okta, sso_user, received, on_commit):
        integration, client = okta(link_existing_users=True)
        existing = sso_user("Dora@Example.com", first_name="Local")
        with on_commit(execute=True):
            scim_user = created(client.post("Users", okta_user("dora@example.com", given="Dora")))
        assert scim_user.user_id == existing.pk
        existing.refresh_from_db()
        assert existing.first_name == "Dora"
        assert not existing.has_usable_password()
        assert users_named("dora@example.com") == 1
        (sent,) = received(signals.user_provisioned)
        assert sent["user"].pk == existing.pk and sent["linked"] is True
        assert sent["integration"] == integration

    def test_a_new_account_is_provisioned_not_linked(self, okta, received, on_commit):
        _integration, client = okta(link_existing_users=True)
        with on_commit(execute=True):
            created(client.post("Users", okta_user("new@example.com")))
        (sent,) = received(signals.user_provisioned)
        assert sent["linked"] is False

    def test_linking_never_captures_an_account_with_a_password(self, okta):
        _integration, client = okta(link_existing_users=True)
        local = get_user_model().objects.create_user(email="eve@example.com", password="s3cret-local")
        assert_error(client.post("Users", okta_user("eve@example.com", given="Mallory")), 409, "uniqueness")
        local.refresh_from_db()
        assert local.first_name == "" and local.check_password("s3cret-local")
        assert not ScimUser.objects.exists()

    def test_linking_never_takes_an_account_another_integration_manages(self, okta):
        _first, first_client = okta(link_existing_users=True)
        _second, second_client = okta(link_existing_users=True)
        owned = created(first_client.post("Users", okta_user("fay@example.com")))
        assert_error(second_client.post("Users", okta_user("fay@example.com")), 409, "uniqueness")
        assert ScimUser.objects.get().integration_id == owned.integration_id

    def test_linking_by_email_never_offers_an_account_another_integration_manages(self, okta):
        """An account with a SCIM identity is never a link candidate, even when the work email
        matches and the userName does not (no userName conflict stops the create first)."""
        _first, first_client = okta()
        owned = created(first_client.post("Users", okta_user("fay@example.com", given="Fay")))
        second, _second_client = okta(link_existing_users=True, unique_identifier=UniqueIdentifier.EMAIL)
        document = okta_user("fay.second@example.com", email="fay@example.com")
        attribute_map = get_adapter().user_attribute_map(second)
        with transaction.atomic():  # the lookup locks what it finds
            assert policies.linkable_user(second, document, attribute_map, get_adapter()) is None
        owned.user.set_unusable_password()
        owned.user.save()  # an SSO account in every other respect
        with transaction.atomic():
            assert policies.linkable_user(second, document, attribute_map, get_adapter()) is None
        assert ScimUser.objects.get(user=owned.user).integration_id == owned.integration_id

    def test_linking_by_work_email(self, okta, sso_user):
        """Unique identifier = work email: the create links the SSO account with that email."""
        _integration, client = okta(link_existing_users=True, unique_identifier=UniqueIdentifier.EMAIL)
        existing = sso_user("gus@example.com")
        scim_user = created(client.post("Users", okta_user("GUS@example.com", email="Gus@Example.com")))
        assert scim_user.user_id == existing.pk
        assert users_named("gus@example.com") == 1

    def test_work_email_identifier_refuses_a_second_person_with_that_email(self, okta):
        _integration, client = okta(unique_identifier=UniqueIdentifier.EMAIL)
        created(client.post("Users", okta_user("hal@example.com", email="hal@example.com")))
        response = client.post("Users", okta_user("hal.2@example.com", email="HAL@example.com"))
        assert_error(response, 409, "uniqueness", "HAL@example.com")
        assert ScimUser.objects.count() == 1

    def test_username_identifier_allows_a_shared_work_email(self, okta):
        """With userName as the identifier, two accounts may share a work email (e.g. a team mailbox)."""
        _integration, client = okta()
        created(client.post("Users", okta_user("ida@example.com", email="team@example.com")))
        created(client.post("Users", okta_user("ivy@example.com", email="team@example.com")))
        assert ScimUser.objects.filter(email_key="team@example.com").count() == 2

    def test_work_email_identifier_refuses_an_email_change_onto_another_person(self, entra):
        _integration, client = entra(unique_identifier=UniqueIdentifier.EMAIL)
        created(client.post("Users", entra_user("a@contoso.com", email="a@contoso.com")))
        second = created(client.post("Users", entra_user("b@contoso.com", email="b@contoso.com")))
        work_email = entra_replace('emails[type eq "work"].value', "A@contoso.com")
        response = client.patch(f"Users/{second.scim_id}", work_email)
        assert_error(response, 409, "uniqueness")
        second.refresh_from_db()
        assert second.email_key == "b@contoso.com"

    def test_work_email_identifier_requires_a_work_email(self, okta):
        _integration, client = okta(unique_identifier=UniqueIdentifier.EMAIL)
        body = okta_user("nomail@example.com")
        del body["emails"]
        assert_error(client.post("Users", body), 400, "invalidValue", "emails")
        assert not ScimUser.objects.exists() and users_named("nomail@example.com") == 0


# == Account creation ======================================================================

class TestAccountCreation:
    def test_default_is_an_sso_only_account_without_groups_or_licence(self, okta):
        _integration, client = okta()
        user = created(client.post("Users", okta_user("sso@example.com"))).user
        assert not user.has_usable_password()  # Okta's random password is not stored
        assert not user.check_password("1mz050nq")
        assert user.groups.count() == 0
        assert user.licence is None

    def test_default_groups_and_default_grant(self, okta):
        everyone, readers = Group.objects.create(name="Everyone"), Group.objects.create(name="Readers")
        Licence.objects.create(name="Standard")
        integration, client = okta(default_grant="Standard")
        integration.default_groups.set([everyone, readers])
        user = created(client.post("Users", okta_user("joiner@example.com"))).user
        assert set(user.groups.values_list("name", flat=True)) == {"Everyone", "Readers"}
        assert user.licence.name == "Standard"

    def test_entra_requires_mail_given_name_and_surname(self, entra):
        _integration, client = entra()
        response = client.post("Users", entra_user("nomail@contoso.com", email=None))
        assert_error(response, 400, "invalidValue", "emails", "mail")
        response = client.post("Users", entra_user("noname@contoso.com", email="noname@contoso.com",
                                                    given=None, family=None))
        assert_error(response, 400, "invalidValue", "name.givenName", "givenName", "name.familyName", "surname")
        assert not ScimUser.objects.exists()
        assert get_user_model().objects.filter(email__endswith="@contoso.com").count() == 0

    def test_entra_cannot_remove_a_required_attribute_later(self, entra):
        _integration, client = entra()
        scim_user = created(client.post("Users", entra_user("kim@contoso.com", email="kim@contoso.com")))
        removal = {"schemas": [PATCH_OP], "Operations": [{"op": "Remove", "path": "name.givenName"}]}
        assert_error(client.patch(f"Users/{scim_user.scim_id}", removal), 400, "invalidValue", "givenName")
        scim_user.user.refresh_from_db()
        assert scim_user.user.first_name == "Kim"

    def test_okta_has_no_required_attributes_by_default(self, okta):
        _integration, client = okta()
        body = okta_user("bare@example.com")
        del body["name"], body["emails"]
        assert created(client.post("Users", body)).user.first_name == ""

    def test_integration_adds_its_own_required_attributes(self, okta):
        _integration, client = okta(required_attributes=["title", f"{ENTERPRISE}:department"])
        response = client.post("Users", okta_user("notitle@example.com"))
        assert_error(response, 400, "invalidValue", "title", "department")
        assert not ScimUser.objects.exists()
        body = okta_user("titled@example.com", title="Editor", **{ENTERPRISE: {"department": "News"}})
        created(client.post("Users", body))


# == Rules from groups =====================================================================

@pytest.fixture
def licences():
    return {name: Licence.objects.create(name=name) for name in ("Standard", "Pro", "Enterprise")}


def push_group(client, name: str, *member_ids: str) -> ScimGroup:
    body = {"schemas": [GROUP], "displayName": name, "members": [{"value": i} for i in member_ids]}
    response = client.post("Groups", body)
    assert response.status_code == 201, response.json_body
    return ScimGroup.objects.get(scim_id=response.json_body["id"])


def licence_of(scim_user: ScimUser) -> str | None:
    user = get_user_model().objects.select_related("licence").get(pk=scim_user.user_id)
    return user.licence.name if user.licence else None


class TestGroupRules:
    def test_membership_changes_grant_and_take_back(self, okta, licences):
        integration, client = okta(default_grant="Standard")
        ann = created(client.post("Users", okta_user("ann@example.com")))
        bob = created(client.post("Users", okta_user("bob@example.com")))
        designers = push_group(client, "Designers")
        GroupRule.objects.create(integration=integration, group=designers, grant="Pro")
        assert licence_of(ann) == licence_of(bob) == "Standard"

        assert client.patch(f"Groups/{designers.scim_id}", members_add(str(ann.scim_id))).status_code == 204
        assert (licence_of(ann), licence_of(bob)) == ("Pro", "Standard")

        assert client.patch(f"Groups/{designers.scim_id}", members_remove(str(ann.scim_id))).status_code == 204
        assert licence_of(ann) == "Standard"

    def test_group_pushed_with_members_grants_at_once(self, okta, licences):
        integration, client = okta()
        ann = created(client.post("Users", okta_user("ann@example.com")))
        assert licence_of(ann) is None
        designers = push_group(client, "Designers")
        GroupRule.objects.create(integration=integration, group=designers, grant="Pro")
        entra_like = {"schemas": [GROUP], "displayName": "Designers",
                      "members": [{"value": str(ann.scim_id)}]}
        assert client.put(f"Groups/{designers.scim_id}", entra_like).status_code == 200
        assert licence_of(ann) == "Pro"

    def test_rule_on_a_default_group_applies_on_create(self, okta, licences):
        integration, client = okta(default_grant="Standard")
        staff = push_group(client, "Staff")
        integration.default_groups.set([staff.group])
        GroupRule.objects.create(integration=integration, group=staff, grant="Enterprise")
        joiner = created(client.post("Users", okta_user("joiner@example.com")))
        assert licence_of(joiner) == "Enterprise"

    def test_priority_decides_between_two_rules(self, okta, licences):
        integration, client = okta()
        ann = created(client.post("Users", okta_user("ann@example.com")))
        designers = push_group(client, "Designers", str(ann.scim_id))
        admins = push_group(client, "Admins")
        GroupRule.objects.create(integration=integration, group=designers, grant="Pro", priority=50)
        GroupRule.objects.create(integration=integration, group=admins, grant="Enterprise", priority=1)
        assert client.patch(f"Groups/{admins.scim_id}", members_add(str(ann.scim_id))).status_code == 204
        assert licence_of(ann) == "Enterprise"
        assert client.patch(f"Groups/{admins.scim_id}", members_remove(str(ann.scim_id))).status_code == 204
        assert licence_of(ann) == "Pro"

    def test_default_groups_and_rules_are_read_in_one_query_in_priority_order(
            self, okta, django_assert_num_queries):
        integration, client = okta()
        everyone, staff, admins = (push_group(client, name) for name in ("Everyone", "Staff", "Admins"))
        integration.default_groups.set([everyone.group, staff.group])
        GroupRule.objects.create(integration=integration, group=staff, grant="Standard", priority=30)
        GroupRule.objects.create(integration=integration, group=admins, grant="Enterprise", priority=1)
        GroupRule.objects.create(integration=integration, group=staff, grant="Pro", priority=30)
        with django_assert_num_queries(1):
            policy = policies.group_policy(integration)
        assert sorted(policy.default_group_ids) == sorted([everyone.group_id, staff.group_id])
        # by priority, then by creation for equal priorities
        assert policy.rules == [(admins.group_id, "Enterprise"), (staff.group_id, "Standard"),
                                (staff.group_id, "Pro")]

    def test_deleting_the_group_takes_its_grant_back(self, okta, licences):
        integration, client = okta(default_grant="Standard")
        ann = created(client.post("Users", okta_user("ann@example.com")))
        designers = push_group(client, "Designers")
        GroupRule.objects.create(integration=integration, group=designers, grant="Pro")
        client.patch(f"Groups/{designers.scim_id}", members_add(str(ann.scim_id)))
        assert licence_of(ann) == "Pro"
        assert client.delete(f"Groups/{designers.scim_id}").status_code == 204
        assert licence_of(ann) == "Standard"

    def test_rules_of_another_integration_do_not_apply(self, okta, licences):
        first, first_client = okta()
        _second, second_client = okta()
        ann = created(second_client.post("Users", okta_user("ann@example.com")))
        theirs = push_group(first_client, "Designers")
        GroupRule.objects.create(integration=first, group=theirs, grant="Pro")
        ann.user.groups.add(theirs.group)  # a portal admin put Ann in the other tenant's group
        push_group(second_client, "Design team", str(ann.scim_id))
        assert licence_of(ann) is None


# == Seat limit ============================================================================

def active_seats(integration) -> int:
    return ScimUser.objects.filter(integration=integration, deleted_at=None, deactivated_at=None).count()


class TestSeatLimit:
    def test_no_limit_by_default(self, okta):
        integration, client = okta()
        for i in range(5):
            created(client.post("Users", okta_user(f"u{i}@example.com")))
        assert active_seats(integration) == 5

    def test_create_past_the_limit_is_refused_with_a_clear_error(self, okta, received, on_commit):
        integration, client = okta(seat_limit=2, name="Acme Okta")
        created(client.post("Users", okta_user("one@example.com")))
        created(client.post("Users", okta_user("two@example.com")))
        with on_commit(execute=True):
            response = client.post("Users", okta_user("three@example.com"))
        assert_error(response, 403, None, "Seat limit reached: 2 of 2 seats of Acme Okta are in use")
        assert users_named("three@example.com") == 0
        assert ScimUser.objects.count() == 2 and active_seats(integration) == 2
        (failed,) = received(signals.provisioning_failed)
        assert failed["status"] == 403 and failed["integration"] == integration

    def test_deactivation_or_delete_frees_a_seat(self, entra):
        integration, client = entra(seat_limit=2)
        one = created(client.post("Users", entra_user("one@contoso.com", email="one@contoso.com")))
        two = created(client.post("Users", entra_user("two@contoso.com", email="two@contoso.com")))
        assert client.patch(f"Users/{one.scim_id}", entra_active(False)).status_code == 200
        created(client.post("Users", entra_user("three@contoso.com", email="three@contoso.com")))
        assert client.delete(f"Users/{two.scim_id}").status_code == 204
        created(client.post("Users", entra_user("four@contoso.com", email="four@contoso.com")))
        assert active_seats(integration) == 2

    def test_reactivation_past_the_limit_is_refused(self, okta):
        integration, client = okta(seat_limit=1)
        one = created(client.post("Users", okta_user("one@example.com")))
        client.patch(f"Users/{one.scim_id}", okta_active(False))
        created(client.post("Users", okta_user("two@example.com")))
        assert_error(client.patch(f"Users/{one.scim_id}", okta_active(True)), 403, None, "Seat limit reached")
        one.refresh_from_db()
        assert one.deactivated_at is not None
        assert get_user_model().objects.get(pk=one.user_id).is_active is False
        # Okta's other reactivation shape, PUT with active true, is refused the same way.
        put = okta_put(str(one.scim_id), okta_user("one@example.com", active=True))
        assert_error(client.put(f"Users/{one.scim_id}", put), 403, None, "Seat limit reached")
        assert active_seats(integration) == 1

    def test_an_inactive_create_takes_no_seat(self, okta):
        integration, client = okta(seat_limit=1)
        created(client.post("Users", okta_user("one@example.com")))
        staged = created(client.post("Users", okta_user("staged@example.com", active=False)))
        assert staged.user.is_active is False and active_seats(integration) == 1

    def test_a_refused_link_leaves_the_portal_account_untouched(self, okta, sso_user):
        _integration, client = okta(seat_limit=1, link_existing_users=True)
        created(client.post("Users", okta_user("one@example.com")))
        existing = sso_user("local@example.com", first_name="Local")
        assert_error(client.post("Users", okta_user("local@example.com", given="Changed")), 403, None, "Seat")
        existing.refresh_from_db()
        assert existing.first_name == "Local"
        assert not ScimUser.objects.filter(user=existing).exists()

    def test_seats_are_counted_per_integration(self, okta):
        _first, first_client = okta(seat_limit=1)
        _second, second_client = okta(seat_limit=1)
        created(first_client.post("Users", okta_user("one@example.com")))
        # The second integration's seat is its own, and the first one's is now taken.
        created(second_client.post("Users", okta_user("two@example.com")))
        assert_error(first_client.post("Users", okta_user("three@example.com")), 403, None, "Seat limit reached")


# == Deprovisioning ========================================================================

def logged_in(user) -> Client:
    """A browser with a real session of ``user`` (stored in the session table)."""
    browser = Client()
    browser.force_login(user)
    assert browser.get("/profile/").status_code == 200
    return browser


def sessions_of(user) -> int:
    return sum(1 for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(user.pk))


class TestDeprovisioning:
    def test_default_deactivates_and_keeps_groups(self, okta, received, on_commit):
        integration, client = okta()
        integration.default_groups.set([Group.objects.create(name="Everyone")])
        scim_user = created(client.post("Users", okta_user("leaver@example.com")))
        with on_commit(execute=True):
            response = client.patch(f"Users/{scim_user.scim_id}", okta_active(False))
        assert response.status_code == 200 and response.json_body["active"] is False
        user = get_user_model().objects.get(pk=scim_user.user_id)
        assert user.is_active is False
        assert list(user.groups.values_list("name", flat=True)) == ["Everyone"]
        scim_user.refresh_from_db()
        assert scim_user.deactivated_at is not None and scim_user.deleted_at is None
        assert client.get(f"Users/{scim_user.scim_id}").json_body["active"] is False  # Entra needs it readable
        assert len(received(signals.user_deactivated)) == 1

    def test_default_delete_deactivates_and_hides_from_scim(self, entra, received, on_commit):
        _integration, client = entra()
        scim_user = created(client.post("Users", entra_user("gone@contoso.com", email="gone@contoso.com")))
        with on_commit(execute=True):
            assert client.delete(f"Users/{scim_user.scim_id}").status_code == 204
        user = get_user_model().objects.get(pk=scim_user.user_id)  # the account is kept
        assert user.is_active is False
        assert_error(client.get(f"Users/{scim_user.scim_id}"), 404)
        assert len(received(signals.user_deleted)) == 1

    def test_deactivate_and_ungroup_removes_every_membership_and_group_grant(self, okta, licences):
        integration, client = okta(deprovisioning=Deprovisioning.DEACTIVATE_AND_UNGROUP, default_grant="Standard")
        local = Group.objects.create(name="Portal editors")
        scim_user = created(client.post("Users", okta_user("leaver@example.com")))
        scim_user.user.groups.add(local)
        designers = push_group(client, "Designers")
        GroupRule.objects.create(integration=integration, group=designers, grant="Pro")
        client.patch(f"Groups/{designers.scim_id}", members_add(str(scim_user.scim_id)))
        assert licence_of(scim_user) == "Pro"

        put = okta_put(str(scim_user.scim_id), okta_user("leaver@example.com", active=False))
        assert client.put(f"Users/{scim_user.scim_id}", put).status_code == 200

        user = get_user_model().objects.get(pk=scim_user.user_id)
        assert user.is_active is False
        assert user.groups.count() == 0
        assert licence_of(scim_user) == "Standard"
        members = client.get(f"Groups/{designers.scim_id}").json_body.get("members", [])
        assert members == []

    def test_delete_policy_deletes_the_account_on_deactivation(self, okta):
        _integration, client = okta(deprovisioning=Deprovisioning.DELETE)
        scim_user = created(client.post("Users", okta_user("purged@example.com")))
        response = client.patch(f"Users/{scim_user.scim_id}", okta_active(False))
        assert response.status_code in (200, 204), response.json_body
        assert not get_user_model().objects.filter(pk=scim_user.user_id).exists()
        assert not ScimUser.objects.filter(pk=scim_user.pk).exists()
        assert_error(client.get(f"Users/{scim_user.scim_id}"), 404)
        # The person can be assigned again later: a fresh account, not an error.
        again = created(client.post("Users", okta_user("purged@example.com")))
        assert again.user_id != scim_user.user_id

    def test_delete_policy_deletes_the_account_on_delete(self, entra):
        _integration, client = entra(deprovisioning=Deprovisioning.DELETE)
        scim_user = created(client.post("Users", entra_user("purged@contoso.com", email="purged@contoso.com")))
        assert client.delete(f"Users/{scim_user.scim_id}").status_code == 204
        assert not get_user_model().objects.filter(pk=scim_user.user_id).exists()
        assert_error(client.get(f"Users/{scim_user.scim_id}"), 404)
        assert_error(client.delete(f"Users/{scim_user.scim_id}"), 404)

    @pytest.mark.parametrize("how", ["okta_patch", "okta_put", "entra_patch", "delete"])
    def test_deactivation_ends_the_users_sessions_now(self, make_integration, scim_for, how):
        provider = IdentityProvider.ENTRA if how.startswith("entra") else IdentityProvider.OKTA
        client = scim_for(make_integration(provider))
        scim_user = created(client.post("Users", entra_user("s@contoso.com", email="s@contoso.com")))
        bystander = get_user_model().objects.create_user(email="bystander@example.com", password="pw-local-1")
        browser, other_browser = logged_in(scim_user.user), logged_in(bystander)
        second_device = logged_in(scim_user.user)
        token = AccessToken.objects.create(user=scim_user.user, token="at-" + uuid.uuid4().hex,
                                           expires=timezone.now() + datetime.timedelta(hours=1), scope="read")
        assert sessions_of(scim_user.user) == 2

        path = f"Users/{scim_user.scim_id}"
        if how == "okta_patch":
            response = client.patch(path, okta_active(False))
        elif how == "okta_put":
            body = okta_put(str(scim_user.scim_id), entra_user("s@contoso.com", email="s@contoso.com", active=False))
            response = client.put(path, body)
        elif how == "entra_patch":
            response = client.patch(path, entra_active(False))
        else:
            response = client.delete(path)
        assert response.status_code in (200, 204)

        assert sessions_of(scim_user.user) == 0
        assert browser.get("/profile/").status_code == 302  # sent to the login page
        assert second_device.get("/profile/").status_code == 302
        assert other_browser.get("/profile/").status_code == 200
        assert not AccessToken.objects.filter(pk=token.pk).exists()

    def test_an_update_that_keeps_the_user_active_ends_nothing(self, okta):
        _integration, client = okta()
        scim_user = created(client.post("Users", okta_user("stay@example.com")))
        browser = logged_in(scim_user.user)
        put = okta_put(str(scim_user.scim_id), okta_user("stay@example.com", given="Renamed"))
        assert client.put(f"Users/{scim_user.scim_id}", put).status_code == 200
        assert browser.get("/profile/").status_code == 200


# == Reactivation ==========================================================================

class TestReactivation:
    def test_allowed_by_default(self, okta, received, on_commit):
        _integration, client = okta()
        scim_user = created(client.post("Users", okta_user("back@example.com")))
        client.patch(f"Users/{scim_user.scim_id}", okta_active(False))
        with on_commit(execute=True):
            response = client.patch(f"Users/{scim_user.scim_id}", okta_active(True))
        assert response.status_code == 200 and response.json_body["active"] is True
        assert get_user_model().objects.get(pk=scim_user.user_id).is_active is True
        assert len(received(signals.user_reactivated)) == 1

    def test_switched_off(self, entra):
        _integration, client = entra(reactivation_allowed=False, name="Contoso Entra")
        scim_user = created(client.post("Users", entra_user("back@contoso.com", email="back@contoso.com")))
        client.patch(f"Users/{scim_user.scim_id}", entra_active(False))
        response = client.patch(f"Users/{scim_user.scim_id}", entra_active(True))
        assert_error(response, 403, None, "Reactivation through SCIM is switched off for Contoso Entra")
        assert get_user_model().objects.get(pk=scim_user.user_id).is_active is False
        # Other changes to the inactive account still go through.
        assert client.patch(f"Users/{scim_user.scim_id}", entra_replace("name.givenName", "Kimmy")).status_code == 200
        assert get_user_model().objects.get(pk=scim_user.user_id).first_name == "Kimmy"

    def test_not_within_n_days_of_deactivation(self, okta):
        _integration, client = okta(reactivation_cooldown_days=180)
        scim_user = created(client.post("Users", okta_user("back@example.com")))
        client.patch(f"Users/{scim_user.scim_id}", okta_active(False))
        scim_user.refresh_from_db()
        until = (scim_user.deactivated_at + datetime.timedelta(days=180)).date().isoformat()
        response = client.patch(f"Users/{scim_user.scim_id}", okta_active(True))
        assert_error(response, 403, None, "cannot be reactivated through SCIM before", until, "180-day rule")
        assert get_user_model().objects.get(pk=scim_user.user_id).is_active is False

        ScimUser.objects.filter(pk=scim_user.pk).update(
            deactivated_at=timezone.now() - datetime.timedelta(days=181))
        assert client.patch(f"Users/{scim_user.scim_id}", okta_active(True)).status_code == 200
        assert get_user_model().objects.get(pk=scim_user.user_id).is_active is True

    def test_deleted_then_created_again_revives_the_same_account(self, entra):
        _integration, client = entra()
        body = entra_user("again@contoso.com", email="again@contoso.com")
        first = created(client.post("Users", body))
        assert client.delete(f"Users/{first.scim_id}").status_code == 204
        second = created(client.post("Users", dict(body, externalId=str(uuid.uuid4()))))
        assert second.user_id == first.user_id
        assert get_user_model().objects.get(pk=first.user_id).is_active is True
        assert ScimUser.objects.count() == 1

    def test_the_rule_also_holds_when_a_deleted_user_is_created_again(self, entra):
        _integration, client = entra(reactivation_cooldown_days=30)
        body = entra_user("again@contoso.com", email="again@contoso.com")
        first = created(client.post("Users", body))
        client.delete(f"Users/{first.scim_id}")
        assert_error(client.post("Users", body), 403, None, "30-day rule")
        first.refresh_from_db()
        assert first.deleted_at is not None
        assert get_user_model().objects.get(pk=first.user_id).is_active is False


# == Writable-attribute allow-list =========================================================

class TestAllowList:
    def test_everything_is_stored_by_default(self, okta):
        _integration, client = okta()
        response = client.post("Users", okta_user("all@example.com", title="Editor"))
        assert response.status_code == 201 and response.json_body["title"] == "Editor"
        assert ScimUser.objects.get().document["title"] == "Editor"

    def test_ignored_attributes_are_dropped_and_the_response_says_what_is_stored(self, okta):
        _integration, client = okta(writable_attributes=["name", "emails"])
        response = client.post("Users", okta_user("few@example.com", given="Fay", title="Editor"))
        assert response.status_code == 201
        body = response.json_body
        assert body["name"]["givenName"] == "Fay" and body["emails"][0]["value"] == "few@example.com"
        for dropped in ("title", "displayName", "locale"):
            assert dropped not in body
        scim_user = ScimUser.objects.get()
        assert "title" not in scim_user.document and "locale" not in scim_user.document
        assert client.get(f"Users/{scim_user.scim_id}").json_body == body

        put = okta_put(str(scim_user.scim_id), okta_user("few@example.com", given="Faye", title="Boss"))
        response = client.put(f"Users/{scim_user.scim_id}", put)
        assert response.status_code == 200
        assert response.json_body["name"]["givenName"] == "Faye" and "title" not in response.json_body
        assert get_user_model().objects.get(pk=scim_user.user_id).first_name == "Faye"

    def test_extension_attributes_are_allowed_one_by_one(self, entra):
        _integration, client = entra(writable_attributes=["name", "emails", f"{ENTERPRISE}:department"])
        response = client.post("Users", entra_user("ext@contoso.com", email="ext@contoso.com"))
        assert response.status_code == 201, response.json_body
        assert response.json_body[ENTERPRISE] == {"department": "Tour Operations"}
        assert ScimUser.objects.get().document[ENTERPRISE] == {"department": "Tour Operations"}

    def test_reject_refuses_a_create_with_other_attributes(self, okta):
        _integration, client = okta(writable_attributes=["name", "emails", "displayName", "locale"],
                                    unknown_attributes=UnknownAttributes.REJECT)
        response = client.post("Users", okta_user("strict@example.com", title="Editor"))
        assert_error(response, 400, "mutability", "title")
        assert not ScimUser.objects.exists() and users_named("strict@example.com") == 0
        created(client.post("Users", okta_user("strict@example.com")))

    def test_reject_refuses_a_patch_of_other_attributes_and_changes_nothing(self, entra):
        _integration, client = entra(writable_attributes=["name", "emails"],
                                     unknown_attributes=UnknownAttributes.REJECT)
        body = entra_user("strict@contoso.com", email="strict@contoso.com")
        del body[ENTERPRISE]
        scim_user = created(client.post("Users", body))
        patch = {"schemas": [PATCH_OP], "Operations": [
            {"op": "Replace", "path": "name.givenName", "value": "Changed"},
            {"op": "Add", "path": "nickName", "value": "Babs"}]}
        assert_error(client.patch(f"Users/{scim_user.scim_id}", patch), 400, "mutability", "nickName")
        scim_user.refresh_from_db()
        assert get_user_model().objects.get(pk=scim_user.user_id).first_name == "Kim"
        assert "nickName" not in scim_user.document
        allowed = entra_replace("name.givenName", "Changed")
        assert client.patch(f"Users/{scim_user.scim_id}", allowed).status_code == 200
        assert get_user_model().objects.get(pk=scim_user.user_id).first_name == "Changed"


# == Seat limit under concurrency (PostgreSQL) =============================================

WORKERS = 8


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("free", [1, 3])
def test_parallel_creates_at_the_seat_limit_never_exceed_it(make_integration, free):
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent inserts are tested on PostgreSQL")
    integration = make_integration(IdentityProvider.OKTA, seat_limit=2 + free)
    token = ScimToken.issue(integration).raw
    setup = ScimClient(token)
    for i in range(2):
        created(setup.post("Users", okta_user(f"seated{i}@example.com")))

    statuses = parallel_posts(token, [okta_user(f"racer{i}@example.com") for i in range(WORKERS)])

    assert sorted(statuses) == [201] * free + [403] * (WORKERS - free)
    assert active_seats(integration) == 2 + free
    assert get_user_model().objects.filter(email__startswith="racer").count() == free  # nothing half-created


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_reactivations_at_the_seat_limit_never_exceed_it(make_integration):
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent updates are tested on PostgreSQL")
    integration = make_integration(IdentityProvider.OKTA, seat_limit=WORKERS)
    token = ScimToken.issue(integration).raw
    setup = ScimClient(token)
    leavers = [created(setup.post("Users", okta_user(f"l{i}@example.com"))) for i in range(WORKERS)]
    for leaver in leavers:
        setup.patch(f"Users/{leaver.scim_id}", okta_active(False))
    for i in range(WORKERS - 1):
        created(setup.post("Users", okta_user(f"new{i}@example.com")))
    answers = at_once(token, [lambda client, leaver=leaver: client.patch(f"Users/{leaver.scim_id}", okta_active(True))
                              for leaver in leavers])
    statuses = [getattr(answer, "status_code", 0) for answer in answers]
    assert sorted(statuses) == [200] + [403] * (WORKERS - 1)
    assert active_seats(integration) == WORKERS
    assert get_user_model().objects.filter(email__startswith="l", is_active=True).count() == 1


# == The host's own rules ==================================================================

class NoContractorsAdapter(PortalScimAdapter):
    """A host rule: contractors are never switched on through SCIM."""

    def check_activation(self, integration, user, document, *, reactivation):
        if document.get("userType") == "Contractor":
            when = "reactivation" if reactivation else "create"
            raise Forbidden(f"Contractors need a portal administrator ({when}).")


class TestHostRules:
    @pytest.fixture(autouse=True)
    def host_adapter(self, settings):
        settings.SCIM_PORTAL = {"ADAPTER": "tests.test_policies.NoContractorsAdapter"}
        return settings

    def test_check_activation_refuses_a_create_and_nothing_is_saved(self, okta):
        _integration, client = okta()
        response = client.post("Users", okta_user("temp@example.com", userType="Contractor"))
        assert_error(response, 403, None, "Contractors need a portal administrator (create)")
        assert users_named("temp@example.com") == 0 and not ScimUser.objects.exists()
        created(client.post("Users", okta_user("staff@example.com", userType="Employee")))

    def test_check_activation_refuses_a_reactivation(self, entra):
        _integration, client = entra()
        scim_user = created(client.post("Users", entra_user("temp@contoso.com", email="temp@contoso.com")))
        client.patch(f"Users/{scim_user.scim_id}", entra_active(False))
        patch = {"schemas": [PATCH_OP], "Operations": [
            {"op": "Replace", "path": "userType", "value": "Contractor"},
            {"op": "Replace", "path": "active", "value": "True"}]}
        assert_error(client.patch(f"Users/{scim_user.scim_id}", patch), 403, None, "(reactivation)")
        assert get_user_model().objects.get(pk=scim_user.user_id).is_active is False

    def test_may_link_decides_which_accounts_a_create_takes_over(self, okta, sso_user, host_adapter):
        host_adapter.SCIM_PORTAL = {"ADAPTER": "tests.test_policies.StaffNeverLinkedAdapter"}
        _integration, client = okta(link_existing_users=True)
        staff = sso_user("vip@example.com", is_staff=True)
        assert_error(client.post("Users", okta_user("vip@example.com")), 409, "uniqueness")
        assert not ScimUser.objects.filter(user=staff).exists()
        plain = sso_user("plain@example.com")
        assert created(client.post("Users", okta_user("plain@example.com"))).user_id == plain.pk


def test_the_provisioners_own_adapter_decides_the_link(make_integration, sso_user):
    """An adapter given to the Provisioner is the one asked, not the one in settings."""
    from scim_portal.context import ScimContext
    from scim_portal.provisioning import Provisioner

    integration = make_integration(IdentityProvider.OKTA, link_existing_users=True)
    context = ScimContext(integration=integration, actor=integration.service_account, credential=None,
                          credential_label="test")
    staff = sso_user("boss@example.com", is_staff=True)
    provisioner = Provisioner(context, "http://testserver/scim/v2", adapter=StaffNeverLinkedAdapter())
    with pytest.raises(Uniqueness):
        provisioner.create_user(okta_user("boss@example.com"))
    assert not ScimUser.objects.filter(user=staff).exists()
    plain = sso_user("plain@example.com")
    assert provisioner.create_user(okta_user("plain@example.com")).user_id == plain.pk


class StaffNeverLinkedAdapter(PortalScimAdapter):
    def may_link(self, integration, user, document):
        return super().may_link(integration, user, document) and not user.is_staff
