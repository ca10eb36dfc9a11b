"""``manage.py scim_import_django_scim2`` against a real django-scim2 host: user and group
models built on its mixins, resources saved the way django-scim2 saves them (``scim_id`` is
the primary key), then the SCIM API answering the IdP under the ids it already holds."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from scim_portal.models import IdentityProvider, Integration, ScimGroup, ScimToken, ScimUser
from tests.djscim2_host.models import Group

pytestmark = pytest.mark.django_db

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def import_(*args: str) -> tuple[dict, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("scim_import_django_scim2", *args, "--json", stdout=out, stderr=err)
    return json.loads(out.getvalue()), err.getvalue()


@pytest.fixture
def okta(db) -> Integration:
    service = get_user_model().objects.create_user(username="scim-okta")
    get_user_model().objects.filter(pk=service.pk).update(scim_id=None)  # a portal user, never provisioned
    return Integration.objects.create(name="Okta", slug="okta", provider=IdentityProvider.OKTA,
                                      service_account=service)


@pytest.fixture
def provisioned(db):
    """What django-scim2 left behind after Okta provisioned two people and pushed a group."""
    User = get_user_model()
    ada = User.objects.create_user(username="ada@example.com", email="ada@example.com", first_name="Ada",
                                   last_name="Lovelace", scim_username="ada@example.com",
                                   scim_external_id="00u-ada")
    grace = User.objects.create_user(username="grace@example.com", email="grace@example.com", is_active=False,
                                     scim_username="grace@example.com", scim_external_id="00u-grace")
    grace.scim_id = "5b0e4a8e-0c1f-4f55-9a43-5d5c4bfa7f10"  # a host whose set_scim_id issues UUIDs
    grace.save()
    engineering = Group.objects.create(name="Engineering", scim_external_id="00g-eng")
    ada.scim_groups.add(engineering)
    return ada, grace, engineering


def api(integration: Integration) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {ScimToken.issue(integration).raw}")


def test_django_scim2_saved_its_ids_as_primary_keys(provisioned):
    ada, _, engineering = provisioned
    ada.refresh_from_db()
    engineering.refresh_from_db()
    assert ada.scim_id == str(ada.pk) and engineering.scim_id == str(engineering.pk)


def test_the_idp_keeps_its_ids_after_the_import(okta, provisioned):
    ada, grace, engineering = provisioned
    report, _ = import_("--integration", "okta")
    assert (report["users_created"], report["groups_created"], report["skipped"]) == (2, 1, [])

    client = api(okta)
    user = client.get(f"/scim/v2/Users/{ada.pk}").json()
    assert user["id"] == str(ada.pk) and user["externalId"] == "00u-ada" and user["userName"] == "ada@example.com"
    assert user["name"]["givenName"] == "Ada" and user["active"] is True
    assert client.get(f"/scim/v2/Users/{grace.scim_id}").json()["active"] is False
    found = client.get("/scim/v2/Users", {"filter": 'userName eq "ADA@example.com"'}).json()
    assert [r["id"] for r in found["Resources"]] == [str(ada.pk)]
    group = client.get(f"/scim/v2/Groups/{engineering.pk}").json()
    assert group["displayName"] == "Engineering" and group["externalId"] == "00g-eng"
    assert [m["value"] for m in group["members"]] == [str(ada.pk)]

    deactivate = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]}
    response = client.patch(f"/scim/v2/Users/{ada.pk}", deactivate, content_type="application/scim+json")
    assert response.status_code == 200, response.content
    ada.refresh_from_db()
    assert ada.is_active is False


def test_dry_run_writes_nothing(okta, provisioned):
    report, err = import_("--integration", "okta", "--dry-run")
    assert report["dry_run"] is True and report["users_created"] == 2 and report["groups_created"] == 1
    assert "Would import 2 users and 1 groups" in err
    assert not ScimUser.objects.exists() and not ScimGroup.objects.exists()


def test_running_it_again_changes_nothing(okta, provisioned):
    import_("--integration", "okta")
    before = sorted(ScimUser.objects.values_list("pk", "scim_id", "version"))
    report, _ = import_("--integration", "okta")
    assert (report["users_created"], report["users_unchanged"]) == (0, 2)
    assert (report["groups_created"], report["groups_unchanged"]) == (0, 1)
    assert sorted(ScimUser.objects.values_list("pk", "scim_id", "version")) == before


def test_users_owned_elsewhere_or_with_a_taken_name_are_reported_not_imported(okta, provisioned):
    ada, grace, _ = provisioned
    other = Integration.objects.create(name="Entra", slug="entra", provider=IdentityProvider.ENTRA,
                                       service_account=okta.service_account)
    ScimUser.objects.create(integration=other, user=ada, user_name="ada@example.com")
    report, err = import_("--integration", "okta")
    assert report["users_created"] == 1
    assert [(s["pk"], s["type"]) for s in report["skipped"]] == [(str(ada.pk), "User")]
    assert "another integration" in report["skipped"][0]["reason"]
    assert f"skipped User pk={ada.pk}" in err
    assert ScimUser.objects.get(user=grace).scim_id == grace.scim_id


def test_a_group_imported_into_another_integration_is_reported_not_counted_as_there(okta, provisioned):
    *_, engineering = provisioned
    other = Integration.objects.create(name="Entra", slug="entra", provider=IdentityProvider.ENTRA,
                                       service_account=okta.service_account)
    ScimGroup.objects.create(integration=other, group=engineering, scim_id=str(engineering.pk),
                             display_name="Engineering", display_name_key="engineering")
    report, err = import_("--integration", "okta")
    assert (report["groups_created"], report["groups_unchanged"]) == (0, 0)
    assert [(s["pk"], s["type"]) for s in report["skipped"]] == [(str(engineering.pk), "Group")]
    assert "another integration" in report["skipped"][0]["reason"]
    assert f"skipped Group pk={engineering.pk}" in err
    assert ScimGroup.objects.get(group=engineering).integration == other
    assert api(okta).get(f"/scim/v2/Groups/{engineering.pk}").status_code == 404


def test_uuid_ids_are_kept_in_their_canonical_form(okta, provisioned):
    _, grace, _ = provisioned
    get_user_model().objects.filter(pk=grace.pk).update(scim_id=grace.scim_id.upper())
    import_("--integration", "okta")
    assert ScimUser.objects.get(user=grace).scim_id == str(uuid.UUID(grace.scim_id))
    assert api(okta).get(f"/scim/v2/Users/{grace.scim_id.upper()}").status_code == 200


def test_unknown_integration_says_how_to_create_it(db):
    with pytest.raises(CommandError, match="scim_integration create --slug okta"):
        import_("--integration", "okta")
