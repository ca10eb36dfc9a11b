from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from scim_portal.models import ScimToken
from tests.conftest import ScimClient

pytestmark = pytest.mark.django_db


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
