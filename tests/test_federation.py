"""Federated fields in the example portal, and the policy fields in the integration admin."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from portal.models import Licence
from scim_portal.federation import federated_fields
from scim_portal.models import GroupRule, IdentityProvider, Integration, ScimGroup, ScimUser

pytestmark = pytest.mark.django_db

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
POLICY_FIELDS = [
    "unique_identifier", "link_existing_users", "adopt_existing_groups", "default_groups", "default_grant",
    "required_attributes",
    "seat_limit", "deprovisioning", "reactivation_allowed", "reactivation_cooldown_days",
    "writable_attributes", "unknown_attributes",
]


def okta_user(user_name: str, given: str = "Ann", family: str = "Lee") -> dict[str, Any]:
    return {"schemas": [USER], "userName": user_name, "name": {"givenName": given, "familyName": family},
            "emails": [{"primary": True, "value": user_name, "type": "work"}], "active": True,
            "externalId": uuid.uuid4().hex[:20]}


def provision(client, user_name: str) -> ScimUser:
    response = client.post("Users", okta_user(user_name))
    assert response.status_code == 201, response.json_body
    return ScimUser.objects.select_related("user").get(scim_id=response.json_body["id"])


def field_tag(html: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert match, f"no input {name}"
    return match.group(0)


def browser_for(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


class TestProfilePage:
    def test_idp_owned_fields_are_read_only_for_a_provisioned_user(self, scim):
        scim_user = provision(scim, "ann@example.com")
        browser = browser_for(scim_user.user)
        html = browser.get("/profile/").content.decode()
        for name in ("email", "first_name", "last_name"):
            assert "disabled" in field_tag(html, name), name
        assert "Managed by your organisation" in html

        response = browser.post("/profile/", {"email": "mine@example.com", "first_name": "Me", "last_name": "X"})
        assert response.status_code == 302
        user = get_user_model().objects.get(pk=scim_user.user_id)
        assert (user.email, user.first_name, user.last_name) == ("ann@example.com", "Ann", "Lee")

    def test_a_portal_only_user_edits_everything(self, db):
        local = get_user_model().objects.create_user(email="local@example.com", password="pw-local-1")
        browser = browser_for(local)
        html = browser.get("/profile/").content.decode()
        assert "disabled" not in field_tag(html, "first_name")
        browser.post("/profile/", {"email": "local@example.com", "first_name": "Lo", "last_name": "Cal"})
        local.refresh_from_db()
        assert (local.first_name, local.last_name) == ("Lo", "Cal")

    def test_fields_outside_the_allow_list_stay_the_users(self, make_integration, scim_for):
        integration = make_integration(IdentityProvider.OKTA, writable_attributes=["emails"])
        scim_user = provision(scim_for(integration), "ann@example.com")
        assert federated_fields(scim_user.user) == ["email"]  # userName is always the IdP's
        browser = browser_for(scim_user.user)
        html = browser.get("/profile/").content.decode()
        assert "disabled" in field_tag(html, "email")
        assert "disabled" not in field_tag(html, "first_name")
        browser.post("/profile/", {"email": "other@example.com", "first_name": "Annie", "last_name": "L"})
        user = get_user_model().objects.get(pk=scim_user.user_id)
        assert (user.email, user.first_name) == ("ann@example.com", "Annie")

    def test_a_user_the_idp_deleted_is_no_longer_federated(self, scim):
        scim_user = provision(scim, "ann@example.com")
        assert scim.delete(f"Users/{scim_user.scim_id}").status_code == 204
        assert federated_fields(scim_user.user) == []


@pytest.fixture
def admin_browser(db) -> Client:
    return browser_for(get_user_model().objects.create_superuser(email="root@example.com", password="pw-root-1"))


class TestAdmin:
    def test_user_admin_shows_who_owns_the_account(self, admin_browser, scim, integration):
        scim_user = provision(scim, "ann@example.com")
        html = admin_browser.get(f"/admin/portal/user/{scim_user.user_id}/change/").content.decode()
        assert "Managed by" in html
        assert str(integration) in html and "<code>ann@example.com</code>" in html
        assert "email, first_name, last_name" in html
        local = get_user_model().objects.create_user(email="local@example.com")
        html = admin_browser.get(f"/admin/portal/user/{local.pk}/change/").content.decode()
        assert "SCIM userName" not in html

    def test_integration_page_shows_every_policy_field(self, admin_browser, integration):
        Licence.objects.create(name="Standard")
        Licence.objects.create(name="Pro")
        for path in ("/admin/scim_portal/integration/add/",
                     f"/admin/scim_portal/integration/{integration.pk}/change/"):
            response = admin_browser.get(path)
            assert response.status_code == 200, path
            html = response.content.decode()
            for name in POLICY_FIELDS:
                assert f'name="{name}"' in html, (path, name)
            for legend in ("Identity matching", "New accounts", "Leavers and returners", "What the IdP may write"):
                assert legend in html
            assert 'name="group_rules-TOTAL_FORMS"' in html  # the group rules inline
            default_grant = re.search(r'<select name="default_grant".*?</select>', html, re.S).group(0)
            assert '<option value="Standard">' in default_grant and '<option value="Pro">' in default_grant

    def test_setup_hint_names_the_chosen_unique_identifier(self, admin_browser, make_integration):
        integration = make_integration(IdentityProvider.OKTA, unique_identifier="email")
        html = admin_browser.get(f"/admin/scim_portal/integration/{integration.pk}/change/").content.decode()
        assert re.search(r'Unique identifier field for users</th><td><code class="scim-value">email</code>', html)

    def test_policies_and_a_group_rule_are_saved_from_the_admin(self, admin_browser, integration, scim):
        Licence.objects.create(name="Pro")
        everyone = Group.objects.create(name="Everyone")
        response = scim.post("Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                        "displayName": "Designers"})
        designers = ScimGroup.objects.get(scim_id=response.json_body["id"])
        form = {
            "name": integration.name, "slug": integration.slug, "provider": "entra", "enabled": "on",
            "service_account": integration.service_account_id,
            "unique_identifier": "email", "link_existing_users": "on", "default_groups": [everyone.pk],
            "default_grant": "Pro", "required_attributes": ["title"], "seat_limit": "25",
            "deprovisioning": "deactivate_ungroup", "reactivation_cooldown_days": "180",
            "writable_attributes": ["name", "emails"], "unknown_attributes": "reject",
            "group_rules-TOTAL_FORMS": "1", "group_rules-INITIAL_FORMS": "0",
            "group_rules-MIN_NUM_FORMS": "0", "group_rules-MAX_NUM_FORMS": "1000",
            "group_rules-0-group": designers.pk, "group_rules-0-grant": "Pro", "group_rules-0-priority": "10",
        }
        response = admin_browser.post(f"/admin/scim_portal/integration/{integration.pk}/change/", form)
        assert response.status_code == 302, re.findall(r'class="errorlist[^"]*"[^>]*>.*?</ul>',
                                                        response.content.decode(), re.S)
        saved = Integration.objects.get(pk=integration.pk)
        assert (saved.unique_identifier, saved.link_existing_users, saved.default_grant) == ("email", True, "Pro")
        assert (saved.seat_limit, saved.deprovisioning, saved.reactivation_allowed) == (25, "deactivate_ungroup",
                                                                                       False)
        assert saved.reactivation_cooldown_days == 180
        assert (saved.required_attributes, saved.writable_attributes) == (["title"], ["name", "emails"])
        assert saved.unknown_attributes == "reject"
        assert list(saved.default_groups.all()) == [everyone]
        rule = GroupRule.objects.get(integration=saved)
        assert (rule.group_id, rule.grant, rule.priority) == (designers.pk, "Pro", 10)

    def test_a_grant_the_portal_does_not_offer_is_refused(self, admin_browser, integration):
        Licence.objects.create(name="Pro")
        form = {"name": integration.name, "slug": integration.slug, "provider": "okta",
                "service_account": integration.service_account_id, "unique_identifier": "userName",
                "default_grant": "Platinum", "deprovisioning": "deactivate",
                "reactivation_allowed": "on", "unknown_attributes": "ignore",
                "group_rules-TOTAL_FORMS": "0", "group_rules-INITIAL_FORMS": "0"}
        response = admin_browser.post(f"/admin/scim_portal/integration/{integration.pk}/change/", form)
        assert response.status_code == 200 and "Platinum is not one of the available choices" in \
            response.content.decode()
        assert Integration.objects.get(pk=integration.pk).default_grant == ""


def user_form(user, **changes: str) -> dict[str, str]:
    """The example portal's user change form as a browser would post it."""
    form = {"email": user.email, "first_name": user.first_name, "last_name": user.last_name, "licence": "",
            "is_active": "on", "date_joined_0": "2026-01-01", "date_joined_1": "10:00:00",
            "last_login_0": "", "last_login_1": ""}
    form.update(changes)
    return form


def change_url(user) -> str:
    return f"/admin/portal/user/{user.pk}/change/"


class TestReadOnlyInAdmin:
    def test_idp_owned_fields_are_read_only_for_a_managed_user(self, admin_browser, scim):
        scim_user = provision(scim, "ann@example.com")
        html = admin_browser.get(change_url(scim_user.user)).content.decode()
        for name in ("email", "first_name", "last_name"):
            assert f'name="{name}"' not in html, name  # shown, not an input
        assert "Ann" in html and "Lee" in html
        assert 'name="is_staff"' in html  # the portal's own fields stay editable
        response = admin_browser.post(change_url(scim_user.user),
                                      user_form(scim_user.user, first_name="Hacked", is_staff="on"))
        assert response.status_code == 302
        user = get_user_model().objects.get(pk=scim_user.user_id)
        assert (user.first_name, user.is_staff) == ("Ann", True)
        body = scim.get(f"Users/{scim_user.scim_id}").json_body
        assert body["name"]["givenName"] == "Ann"
        assert body["meta"]["version"] == 'W/"1"'  # an unmapped field changed: SCIM sees nothing new

    def test_a_portal_only_user_is_edited_in_full(self, admin_browser):
        local = get_user_model().objects.create_user(email="local@example.com")
        html = admin_browser.get(change_url(local)).content.decode()
        assert 'name="first_name"' in html and 'name="email"' in html
        assert admin_browser.post(change_url(local), user_form(local, first_name="Lo")).status_code == 302
        local.refresh_from_db()
        assert local.first_name == "Lo"

    def test_a_disabled_integration_hands_the_fields_back(self, admin_browser, scim, integration):
        scim_user = provision(scim, "ann@example.com")
        Integration.objects.filter(pk=integration.pk).update(enabled=False)
        html = admin_browser.get(change_url(scim_user.user)).content.decode()
        assert 'name="first_name"' in html
        assert "the integration is disabled" in html

    def test_an_admin_change_of_a_mapped_field_moves_the_scim_version(self, admin_browser, make_integration,
                                                                      scim_for):
        integration = make_integration(IdentityProvider.OKTA, writable_attributes=["emails"])
        scim = scim_for(integration)
        scim_user = provision(scim, "ann@example.com")
        before = scim.get(f"Users/{scim_user.scim_id}").json_body["meta"]
        html = admin_browser.get(change_url(scim_user.user)).content.decode()
        assert 'name="first_name"' in html and 'name="email"' not in html  # only the allow-list is the IdP's
        response = admin_browser.post(change_url(scim_user.user), user_form(scim_user.user, first_name="Annie"))
        assert response.status_code == 302
        response = scim.get(f"Users/{scim_user.scim_id}")
        after = response.json_body["meta"]
        assert response.json_body["name"]["givenName"] == "Annie"
        assert after["version"] == 'W/"2"' != before["version"]
        assert after["lastModified"] > before["lastModified"]
        assert response["ETag"] == 'W/"2"'

    def test_an_override_edits_federated_fields_and_moves_the_version(self, rf, scim):
        from django.contrib import admin

        from portal.admin import UserAdmin

        class RepairAdmin(UserAdmin):
            def may_edit_federated_fields(self, request, obj) -> bool:
                return request.user.is_superuser

        scim_user = provision(scim, "ann@example.com")
        request = rf.get("/")
        request.user = get_user_model().objects.create_superuser(email="root2@example.com", password="pw-root-2")
        model_admin = RepairAdmin(get_user_model(), admin.site)
        assert "first_name" not in model_admin.get_readonly_fields(request, scim_user.user)
        request.user = get_user_model().objects.create_user(email="staff@example.com", is_staff=True)
        assert "first_name" in model_admin.get_readonly_fields(request, scim_user.user)

        user = scim_user.user
        user.first_name = "Repaired"
        user.save()  # anywhere outside SCIM: the admin, the shell, a view
        body = scim.get(f"Users/{scim_user.scim_id}").json_body
        assert (body["name"]["givenName"], body["meta"]["version"]) == ("Repaired", 'W/"2"')
        user.save()  # nothing changed: the version stays
        assert scim.get(f"Users/{scim_user.scim_id}").json_body["meta"]["version"] == 'W/"2"'

    def test_saves_of_unmapped_fields_cost_no_query(self, scim, django_assert_num_queries):
        user = provision(scim, "ann@example.com").user
        user.last_login = user.date_joined
        with django_assert_num_queries(2):  # the UPDATE and simple-history's row; nothing of ours
            user.save(update_fields=["last_login"])
        user.is_staff = True
        with django_assert_num_queries(3):  # + one indexed read of the SCIM identity; nothing to write
            user.save()
