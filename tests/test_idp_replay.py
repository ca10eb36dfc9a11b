"""Okta's and Entra's real request sequences, replayed request by request,
then the database state they must leave behind."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from scim_portal.models import IdentityProvider, ScimGroup, ScimUser
from tests.replay import replay

pytestmark = pytest.mark.django_db


def test_okta_lifecycle(make_integration, scim_for):
    integration = make_integration(IdentityProvider.OKTA)
    ids = replay(scim_for(integration), "okta")

    renamed = ScimUser.objects.get(scim_id=ids["user_id"])
    assert renamed.user.email == "renamed.user@okta.local"  # renamed in place, no second account
    assert renamed.user.first_name == "Tess"
    assert renamed.user.is_active is True
    assert not renamed.user.has_usable_password()  # SSO only; Okta's password ignored
    assert get_user_model().objects.filter(email__iexact="test.user@okta.local").count() == 0
    second = ScimUser.objects.get(scim_id=ids["user2_id"]).user
    assert second.is_active is False
    assert not Group.objects.filter(name__in=["Test SCIMv2", "Renamed SCIMv2"]).exists()
    assert ScimGroup.objects.count() == 0


def test_entra_lifecycle(make_integration, scim_for):
    integration = make_integration(IdentityProvider.ENTRA)
    ids = replay(scim_for(integration), "entra")

    deleted = ScimUser.objects.get(scim_id=ids["user_id"])
    assert deleted.deleted_at is not None
    assert deleted.user.is_active is False  # the account survives, deactivated
    assert deleted.user.first_name == "Kkom"
    assert deleted.user.last_name == "Unua"
    boss = ScimUser.objects.get(scim_id=ids["manager_id"]).user
    assert boss.is_active is True
    assert not Group.objects.filter(name="renamed").exists()


def test_entra_legacy_shapes_go_through_its_dialect(make_integration, scim_for):
    """The shapes scim_portal/idp/entra.py rewrites; a strict RFC integration refuses them (tests/test_dialects.py)."""
    integration = make_integration(IdentityProvider.ENTRA)
    ids = replay(scim_for(integration), "entra", "legacy_shapes")

    user = ScimUser.objects.get(scim_id=ids["user_id"])
    assert [e["type"] for e in user.document["emails"]] == ["work"]
    assert user.user.is_active is False
