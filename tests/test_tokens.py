"""Permanent tokens: limit, rotation, scopes, service account, expiry, revocation, the command."""

from __future__ import annotations

import datetime as dt
import io
import json
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from scim_portal import checks
from scim_portal.models import ScimToken, TokenLimitReached
from tests.conftest import ScimClient

pytestmark = pytest.mark.django_db

USER = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ann@example.com"}


def spc(raw: str):
    return ScimClient(raw).get("ServiceProviderConfig")


# -- limit and rotation


def test_at_most_two_active_tokens_per_integration(integration, make_integration):
    ScimToken.issue(integration)
    ScimToken.issue(integration)
    with pytest.raises(TokenLimitReached):
        ScimToken.issue(integration)
    ScimToken.issue(make_integration())  # another integration has its own allowance


def test_revoked_and_expired_tokens_free_a_place(integration):
    ScimToken.issue(integration).token.revoke()
    ScimToken.issue(integration, expires_at=timezone.now() - dt.timedelta(seconds=1))
    ScimToken.issue(integration)
    ScimToken.issue(integration)
    assert ScimToken.objects.filter(integration=integration).active().count() == 2


def test_limit_is_configurable(settings, integration):
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "MAX_ACTIVE_TOKENS": 1}
    ScimToken.issue(integration)
    with pytest.raises(TokenLimitReached, match="already has 1 active"):
        ScimToken.issue(integration)


def test_rotation_with_grace_keeps_both_working_until_the_grace_ends(integration):
    old = ScimToken.issue(integration, description="Okta prod")
    new = old.token.rotate(grace=dt.timedelta(hours=1))
    assert spc(old.raw).status_code == 200 and spc(new.raw).status_code == 200
    old.token.refresh_from_db()
    assert old.token.status == "rotated" and old.token.replaced_by == new.token
    assert new.token.description == "Okta prod" and new.token.scopes == old.token.scopes
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() + dt.timedelta(hours=1, seconds=1)):
        assert spc(old.raw).status_code == 401
        assert spc(new.raw).status_code == 200


def test_rotation_without_grace_revokes_at_once(integration):
    old = ScimToken.issue(integration)
    new = old.token.rotate(grace=dt.timedelta(0))
    assert spc(old.raw).status_code == 401
    assert spc(new.raw).status_code == 200


def test_rotation_default_grace_comes_from_settings(settings, integration):
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "TOKEN_ROTATION_GRACE": 600}
    old = ScimToken.issue(integration)
    before = timezone.now()
    old.token.rotate()
    old.token.refresh_from_db()
    assert dt.timedelta(seconds=599) < old.token.expires_at - before <= dt.timedelta(seconds=601)


def test_rotation_works_at_the_limit_and_the_grace_token_does_not_count(integration):
    first, second = ScimToken.issue(integration), ScimToken.issue(integration)
    first.token.rotate(grace=dt.timedelta(hours=1))
    second.token.rotate(grace=dt.timedelta(hours=1))
    assert ScimToken.objects.filter(integration=integration).active().count() == 4
    with pytest.raises(TokenLimitReached):
        ScimToken.issue(integration)


def test_rotation_never_extends_an_earlier_expiry(integration):
    soon = timezone.now() + dt.timedelta(minutes=5)
    old = ScimToken.issue(integration, expires_at=soon)
    old.token.rotate(grace=dt.timedelta(days=1))
    old.token.refresh_from_db()
    assert old.token.expires_at == soon


def test_only_active_tokens_can_be_rotated(integration):
    issued = ScimToken.issue(integration)
    issued.token.revoke()
    with pytest.raises(ValidationError):
        issued.token.rotate()
    successor = ScimToken.issue(integration)
    successor.token.rotate()
    with pytest.raises(ValidationError):
        successor.token.rotate()


# -- what a token may do and who it acts as


def test_read_only_token_gets_403_insufficient_scope_on_writes(integration):
    scim = ScimClient(ScimToken.issue(integration, scopes="read").raw)
    assert scim.get("ServiceProviderConfig").status_code == 200
    for response in (scim.post("Users", USER), scim.put("Users/x", USER), scim.patch("Users/x", {}),
                     scim.delete("Users/x")):
        assert response.status_code == 403
        assert response.json_body["status"] == "403"
        assert 'error="insufficient_scope"' in response["WWW-Authenticate"]


def test_write_only_token_cannot_read(integration):
    scim = ScimClient(ScimToken.issue(integration, scopes="write").raw)
    assert scim.get("Users").status_code == 403


def test_unknown_scopes_are_dropped(integration):
    assert ScimToken.issue(integration, scopes="read admin").token.scopes == "read"


def test_token_acts_as_its_service_account_or_the_integrations(integration):
    robot = get_user_model().objects.create_user(email="robot@example.com")
    own = ScimToken.issue(integration, service_account=robot)
    default = ScimToken.issue(integration)
    assert spc(own.raw).wsgi_request.user == robot
    assert spc(default.raw).wsgi_request.user == integration.service_account


# -- refusals


def refusal(response) -> tuple:
    return response.status_code, json.dumps(response.json_body, sort_keys=True), response["WWW-Authenticate"]


def test_unknown_revoked_expired_and_disabled_look_the_same(integration, make_integration):
    revoked = ScimToken.issue(integration)
    revoked.token.revoke()
    expired = ScimToken.issue(integration, expires_at=timezone.now() - dt.timedelta(seconds=1))
    other = make_integration(enabled=False)
    disabled = ScimToken.issue(other)
    unknown = "scim_" + "A" * 43
    answers = {refusal(spc(raw)) for raw in (unknown, revoked.raw, expired.raw, disabled.raw)}
    assert len(answers) == 1
    status, body, challenge = answers.pop()
    assert status == 401 and json.loads(body)["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert 'error="invalid_token"' in challenge


def test_unusable_tokens_cost_the_same_lookups_as_unknown_ones(integration):
    revoked = ScimToken.issue(integration)
    revoked.token.revoke()

    def queries(raw: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            spc(raw)
        return len(ctx.captured_queries)

    assert queries(revoked.raw) == queries("scim_" + "B" * 43)


def test_expiry_takes_effect_when_time_passes(integration):
    issued = ScimToken.issue(integration, expires_at=timezone.now() + dt.timedelta(days=30))
    assert spc(issued.raw).status_code == 200
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() + dt.timedelta(days=31)):
        assert spc(issued.raw).status_code == 401


def test_revocation_takes_effect_on_the_next_request(integration):
    issued = ScimToken.issue(integration)
    scim = ScimClient(issued.raw)
    assert scim.get("ServiceProviderConfig").status_code == 200
    ScimToken.objects.get(pk=issued.token.pk).revoke()
    assert scim.get("ServiceProviderConfig").status_code == 401


def test_oversized_bearer_values_are_refused_without_lookup(integration):
    with CaptureQueriesContext(connection) as ctx:
        response = spc("x" * 5000)
    assert response.status_code == 401
    assert not any("scimtoken" in q["sql"].lower() for q in ctx.captured_queries)


def test_secret_is_never_in_the_database_or_repr(integration):
    issued = ScimToken.issue(integration)
    spc(issued.raw)
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            assert issued.raw not in repr(cursor.fetchall())
    assert issued.raw not in repr(issued)


# -- manage.py scim_token


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("scim_token", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_command_create_with_options_and_json(integration):
    robot = get_user_model().objects.create_user(email="robot@example.com")
    out, err = run("create", "--integration", integration.slug, "--scopes", "read", "--json",
                   "--service-account", "robot@example.com", "--expires", "2999-01-01T00:00:00")
    created = json.loads(out)
    assert created["scopes"] == ["read"] and created["expires"].startswith("2999-01-01")
    assert created["token"] not in err
    token = ScimToken.objects.get(prefix=created["prefix"])
    assert token.service_account == robot and token.matches(created["token"])


def test_command_create_beyond_the_limit_is_a_clear_error(integration):
    run("create", "--integration", integration.slug)
    run("create", "--integration", integration.slug)
    with pytest.raises(CommandError, match="rotate or revoke"):
        run("create", "--integration", integration.slug)


@pytest.mark.parametrize("args", [["--scopes", "admin"], ["--expires", "soon"], ["--service-account", "ghost"]])
def test_command_create_rejects_bad_options(integration, args):
    with pytest.raises(CommandError):
        run("create", "--integration", integration.slug, *args)


def test_command_list_shows_status_never_secrets(integration):
    raw, _ = run("create", "--integration", integration.slug, "--description", "okta")
    run("revoke", ScimToken.objects.get().prefix)
    run("create", "--integration", integration.slug)
    text, _ = run("list", "--integration", integration.slug)
    rows = json.loads(run("list", "--json")[0])
    assert sorted(r["status"] for r in rows) == ["active", "revoked"]
    assert raw not in text and "revoked" in text and "okta" in text


def test_command_rotate_prints_the_new_token(integration):
    old, _ = run("create", "--integration", integration.slug)
    prefix = ScimToken.objects.get().prefix
    new, err = run("rotate", prefix, "--grace", "0")
    assert new != old and "revoked" in err
    assert spc(new).status_code == 200 and spc(old).status_code == 401
    rotated = json.loads(run("rotate", ScimToken.objects.get(revoked_at__isnull=True).prefix, "--json")[0])
    assert spc(rotated["token"]).status_code == 200
    assert spc(new).status_code == 200  # default grace: still working


def test_command_revoke_with_json_and_unknown_prefix(integration):
    raw, _ = run("create", "--integration", integration.slug)
    out, _ = run("revoke", ScimToken.objects.get().prefix + "…", "--json")
    assert json.loads(out)["status"] == "revoked"
    assert raw not in out and spc(raw).status_code == 401
    with pytest.raises(CommandError):
        run("revoke", "scim_nothing")


@override_settings(SCIM_PORTAL={"MAX_ACTIVE_TOKENS": 0})
def test_e022_token_limit_must_be_positive():
    assert [m.id for m in checks.check_credentials()] == ["scim_portal.E022"]
