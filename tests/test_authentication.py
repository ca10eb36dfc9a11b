"""Bearer tokens: stored hashed, shown once, refused with a SCIM 401 when unusable."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from scim_portal.models import ScimToken
from scim_portal.models.tokens import hash_token
from tests.conftest import ScimClient

pytestmark = pytest.mark.django_db


def assert_401(response) -> None:
    assert response.status_code == 401
    assert response.json_body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert response.json_body["status"] == "401"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_valid_token_reaches_scim(scim):
    response = scim.get("ServiceProviderConfig")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/scim+json")


def test_missing_token_is_401():
    assert_401(ScimClient(None).get("ServiceProviderConfig"))


def test_wrong_token_is_401(token):
    assert_401(ScimClient(token + "x").get("Users"))


def test_bare_token_header_is_accepted(token):
    """Okta's "HTTP Header" mode sends ``Authorization: <token>`` without a scheme."""
    client = ScimClient(None)
    response = client.get("ServiceProviderConfig", headers={"Authorization": token})
    assert response.status_code == 200


def test_revoked_token_is_401(integration):
    issued = ScimToken.issue(integration)
    issued.token.revoke()
    assert_401(ScimClient(issued.raw).get("Users"))
    assert "invalid_token" in ScimClient(issued.raw).get("Users")["WWW-Authenticate"]


def test_expired_token_is_401(integration):
    issued = ScimToken.issue(integration, expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert_401(ScimClient(issued.raw).get("Users"))


def test_disabled_integration_refuses_then_restores(integration, token):
    integration.enabled = False
    integration.save()
    assert_401(ScimClient(token).get("Users"))
    integration.enabled = True
    integration.save()
    assert ScimClient(token).get("Users").status_code == 200


def test_token_is_stored_only_as_hash(integration):
    issued = ScimToken.issue(integration)
    row = ScimToken.objects.values().get(pk=issued.token.pk)
    assert issued.raw not in {str(v) for v in row.values()}
    assert row["digest"] == hash_token(issued.raw)
    assert issued.raw.startswith(row["prefix"]) and len(row["prefix"]) < len(issued.raw) // 3


def test_token_has_256_bits(integration):
    raw = ScimToken.issue(integration).raw
    assert len(raw.removeprefix("scim_")) >= 43  # 32 random bytes, base64url


def test_last_used_is_recorded(integration):
    issued = ScimToken.issue(integration)
    assert issued.token.last_used_at is None
    ScimClient(issued.raw).get("Users")
    issued.token.refresh_from_db()
    assert issued.token.last_used_at is not None
