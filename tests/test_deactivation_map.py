"""Deactivation does not depend on ``USER_ATTRIBUTE_MAP``: the write path owns ``is_active``.

A host that maps only ``userName`` and one more field still gets its users switched
off (and back on) by the IdP; a user model that gives ``active`` nowhere to go is a
system-check error (``scim_portal.E012``).
"""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client

from scim_portal import checks, mapping
from tests.protocol import create_user, patch_body, user_body

pytestmark = pytest.mark.django_db

NARROW_MAP = {"userName": "email", "name.givenName": "first_name"}
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def narrow_map(settings):
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "USER_ATTRIBUTE_MAP": NARROW_MAP}


def host_user_with_password(scim_id: str):
    """The host account, given a password so that "cannot log in" is a real test."""
    user = get_user_model().objects.get(scim_identity__scim_id=scim_id)
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


def can_log_in(email: str) -> bool:
    return authenticate(username=email, password=PASSWORD) is not None and Client().login(
        username=email, password=PASSWORD)


def test_okta_deactivation_switches_the_host_user_off_without_active_in_the_map(scim):
    created = create_user(scim, "narrow@example.com")
    host_user_with_password(created["id"])
    assert can_log_in("narrow@example.com")

    answer = scim.patch(f"Users/{created['id']}", patch_body({"op": "replace", "value": {"active": False}}))

    assert answer.status_code == 200 and answer.json_body["active"] is False
    assert get_user_model().objects.get(email="narrow@example.com").is_active is False
    assert not can_log_in("narrow@example.com")
    assert scim.get(f"Users/{created['id']}").json_body["active"] is False


def test_put_with_active_false_then_reactivation_follow_the_host_flag(scim):
    created = create_user(scim, "put@example.com")
    host_user_with_password(created["id"])

    off = scim.put(f"Users/{created['id']}", user_body("put@example.com", active=False))
    assert off.status_code == 200 and off.json_body["active"] is False
    assert not can_log_in("put@example.com")

    on = scim.patch(f"Users/{created['id']}", patch_body({"op": "replace", "path": "active", "value": True}))
    assert on.status_code == 200 and on.json_body["active"] is True
    assert get_user_model().objects.get(email="put@example.com").is_active is True
    assert can_log_in("put@example.com")


def test_a_create_with_active_false_makes_an_inactive_host_user(scim):
    created = create_user(scim, "born-off@example.com", active=False)
    assert created["active"] is False
    assert get_user_model().objects.get(email="born-off@example.com").is_active is False


def test_the_map_binds_active_to_is_active_unless_it_names_another_field():
    assert mapping.AttributeMap(NARROW_MAP).field_for("active") == "is_active"
    assert mapping.AttributeMap({**NARROW_MAP, "Active": "is_staff"}).field_for("active") == "is_staff"


def test_e012_a_model_without_is_active_and_a_map_without_active(monkeypatch):
    monkeypatch.setattr(mapping, "host_active_field", lambda: None)
    assert [m.id for m in checks.check_models()] == ["scim_portal.E012"]
    with pytest.raises(SystemCheckError, match=r"scim_portal\.E012"):
        call_command("check")


def test_e012_is_silent_when_the_map_names_active(settings, monkeypatch):
    monkeypatch.setattr(mapping, "host_active_field", lambda: None)
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "USER_ATTRIBUTE_MAP": {**NARROW_MAP, "active": "is_staff"}}
    assert checks.check_models() == []
