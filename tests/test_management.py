from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import connection

from scim_portal.models import Integration, ScimToken
from tests.conftest import ScimClient

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("scim_token", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_create_prints_only_a_working_token(integration):
    raw, err = run("create", "--integration", integration.slug, "--description", "ops")
    assert "\n" not in raw and raw.startswith("scim_")
    assert raw not in err
    assert ScimClient(raw).get("Users").status_code == 200


def test_list_shows_prefixes_never_secrets(integration):
    raw, _ = run("create", "--integration", integration.slug)
    out, _ = run("list", "--json")
    rows = json.loads(out)
    assert rows[0]["prefix"] == ScimToken.objects.get().prefix
    assert raw not in out
    assert rows[0]["status"] == "active"


def test_revoke_by_prefix(integration):
    raw, _ = run("create", "--integration", integration.slug)
    run("revoke", ScimToken.objects.get().prefix)
    assert ScimClient(raw).get("Users").status_code == 401


def test_unknown_integration_is_an_error(db):
    with pytest.raises(CommandError):
        run("create", "--integration", "nope")


def test_migrations_are_complete():
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)


# -- scim_integration ---------------------------------------------------------------------------

def integration_command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("scim_integration", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


OKTA_PROD = ("create", "--slug", "okta-prod", "--name", "Okta production", "--provider", "okta",
             "--service-account", "scim-okta@example.com", "--create-service-account", "--seat-limit", "50",
             "--required-attributes", "name.givenName, name.familyName", "--json")


def test_create_makes_the_integration_and_its_service_account(db):
    out, err = integration_command(*OKTA_PROD)
    row = json.loads(out)
    assert row["slug"] == "okta-prod" and row["provider"] == "okta" and row["enabled"] is True
    assert row["seat_limit"] == 50 and row["required_attributes"] == ["name.givenName", "name.familyName"]
    assert row["service_account"] == "scim-okta@example.com"
    assert "Created service account" in err
    integration = Integration.objects.get(slug="okta-prod")
    assert not integration.service_account.has_usable_password()
    assert integration.history.get().history_change_reason == "created with scim_integration"


def test_create_again_with_the_same_options_changes_nothing(db):
    first, _ = integration_command(*OKTA_PROD)
    again, err = integration_command(*OKTA_PROD)
    assert "unchanged" in err
    assert json.loads(again) == json.loads(first)
    assert Integration.history.count() == 1
    assert get_user_model().objects.count() == 1


def test_create_with_other_options_is_an_error_naming_them(db):
    integration_command(*OKTA_PROD)
    changed = [*OKTA_PROD]
    changed[changed.index("okta")] = "entra"
    with pytest.raises(CommandError) as error:
        integration_command(*changed)
    assert "provider='okta' (asked: 'entra')" in str(error.value)
    assert "manage.py scim_integration update okta-prod" in str(error.value)
    assert Integration.objects.get().provider == "okta"


def test_create_needs_an_existing_account_or_permission_to_create_it(db):
    with pytest.raises(CommandError, match="--create-service-account"):
        integration_command("create", "--slug", "x", "--name", "X", "--provider", "generic",
                            "--service-account", "nobody@example.com")
    assert not Integration.objects.exists()


def test_invalid_values_are_refused_without_a_change(db):
    with pytest.raises(CommandError, match="slug"):
        integration_command("create", "--slug", "not a slug", "--name", "X", "--provider", "generic",
                            "--service-account", "svc@example.com", "--create-service-account")
    assert not Integration.objects.exists()


def test_list_and_show(integration):
    rows = json.loads(integration_command("list", "--json")[0])
    assert [row["slug"] for row in rows] == [integration.slug]
    shown = json.loads(integration_command("show", integration.slug, "--json")[0])
    assert shown["service_account"] == integration.service_account.email
    assert shown["active_tokens"] == 0
    text, _ = integration_command("list")
    assert integration.slug in text and "enabled" in text


def test_update_changes_only_what_is_given(integration):
    group = Group.objects.create(name="Staff")
    out, _ = integration_command("update", integration.slug, "--seat-limit", "10", "--no-reactivation-allowed",
                                 "--default-group", "Staff", "--json")
    row = json.loads(out)
    assert row["seat_limit"] == 10 and row["reactivation_allowed"] is False
    assert row["default_groups"] == ["Staff"] and row["provider"] == integration.provider
    integration.refresh_from_db()
    assert list(integration.default_groups.all()) == [group]
    integration_command("update", integration.slug, "--seat-limit", "none", "--no-default-groups")
    integration.refresh_from_db()
    assert integration.seat_limit is None and not integration.default_groups.exists()


def test_update_with_an_unknown_group_is_an_error(integration):
    with pytest.raises(CommandError, match="No group named 'Nope'"):
        integration_command("update", integration.slug, "--default-group", "Nope")


def test_disable_refuses_the_credentials_and_enable_restores_them(integration, token):
    scim = ScimClient(token)
    assert json.loads(integration_command("disable", integration.slug, "--json")[0])["enabled"] is False
    assert scim.get("Users").status_code == 401
    integration_command("enable", integration.slug)
    assert scim.get("Users").status_code == 200


def test_unknown_integration_names_the_known_ones(integration):
    with pytest.raises(CommandError, match=f"known: {integration.slug}"):
        integration_command("show", "nope")


def test_scim_token_says_how_to_create_a_missing_integration(db):
    with pytest.raises(CommandError) as error:
        run("create", "--integration", "okta-prod")
    assert "manage.py scim_integration create --slug okta-prod" in str(error.value)
    assert "(known: none)" in str(error.value)  # the same lookup as scim_integration's


def test_a_real_manage_py_creates_an_integration_then_a_token(tmp_path):
    """Scripts call manage.py: the same commands in a subprocess, on a copy of the migrated test database."""
    if connection.vendor != "sqlite":
        pytest.skip("the subprocess works on a file copy of the SQLite test database")
    database = tmp_path / "portal.sqlite3"
    connection.ensure_connection()
    with sqlite3.connect(database) as copy:
        connection.connection.backup(copy)
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "DJANGO_SETTINGS_MODULE": "portal_site.settings"}

    def manage(*args: str) -> str:
        done = subprocess.run([sys.executable, str(ROOT / "example_project" / "manage.py"), *args],
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    created = json.loads(manage("scim_integration", "create", "--slug", "okta-prod", "--name", "Okta",
                                "--provider", "okta", "--service-account", "scim@example.com",
                                "--create-service-account", "--json"))
    assert created["slug"] == "okta-prod" and created["service_account"] == "scim@example.com"
    assert manage("scim_token", "create", "--integration", "okta-prod").startswith("scim_")
