"""No secret is stored, whatever shape it arrives in (issue #11 item 4).

Unique secrets are planted in every shape a client can send them (the IdP-normal ones, the
case and spacing variants the PATCH engine accepts, bodies that are not JSON, credentials in
query strings and form fields), then every column of every table in the database is read back
and searched for them.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import connection

from scim_portal.models import ProvisioningLog
from tests.conftest import ScimClient
from tests.protocol import ENTERPRISE, USER, create_user, patch_body, user_body

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def every_read_logged(settings):
    """What the log stores is the question here: every request, successful reads included, has its row."""
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "LOG_READS": "all"}


class Secrets:
    """Hands out unique secrets and remembers them."""

    def __init__(self) -> None:
        self.planted: list[str] = []

    def __call__(self) -> str:
        secret = f"S3cr3t-{uuid.uuid4().hex}"
        self.planted.append(secret)
        return secret


def every_stored_text() -> str:
    """Every row of every table (ours, the host's, history, sessions, cache) as one text."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def plant(scim: ScimClient, token: str, secret: Secrets) -> None:
    user = create_user(scim, "planted@example.com", password=secret())  # POST password (Okta)
    path = f"Users/{user['id']}"
    scim.put(path, user_body("planted@example.com", password=secret()))  # PUT password
    for operation in (
        {"op": "replace", "path": "password", "value": secret()},  # Okta's PATCH
        {"Op": "Replace", "Path": "Password", "Value": secret()},  # capitalised keys
        {"op": "replace", "path": " password ", "value": secret()},  # spaces around the path
        {"op": "replace", "path": f"{USER}:password", "value": secret()},
        {"op": "replace", "value": {"Password": secret()}},  # value object, capitalised
        {"op": "add", "value": {"password": secret(), "title": "t"}},
        {"op": "replace", "path": "PASSWORD", "value": [secret()]},
    ):
        response = scim.patch(path, patch_body(operation))
        assert response.status_code < 500, response.json_body
    bad = [
        (f"password={secret()}&userName=x", "application/x-www-form-urlencoded"),
        ("{'userName': 'x', 'password': '" + secret() + "'}", "application/scim+json"),
        ('{"userName": "x", "pass\\u0077ord": "' + secret() + '"', "application/scim+json"),  # not JSON
        ('{"userName": "x", "pass\\u0077ord": "' + secret() + '"}', "application/scim+json"),  # JSON
        (f"access_token={secret()}", "application/x-www-form-urlencoded"),
        (json.dumps({"schemas": [USER], "userName": "y", ENTERPRISE: {"password": secret()}}), "application/json"),
    ]
    for raw, content_type in bad:
        assert scim.post("Users", raw=raw, content_type=content_type).status_code < 500
    anonymous = ScimClient(None)
    for name in ("access_token", "token", "bearer", "client_secret", "password", "Access_Token", "api_key"):
        assert anonymous.get(f"Users?{name}={secret()}&count=1").status_code == 401
        assert scim.get(f"Users?count=1&{name}={secret()}").status_code == 200
    assert ScimClient(secret()).get("Users").status_code == 401  # an unknown bearer token
    assert anonymous.post("Users", raw=f"access_token={secret()}",
                          content_type="application/x-www-form-urlencoded").status_code == 401


def test_no_planted_secret_is_stored_anywhere(scim, token):
    secret = Secrets()
    plant(scim, token, secret)
    assert ProvisioningLog.objects.count() >= 30  # every request was logged
    stored = every_stored_text()
    found = [s for s in [*secret.planted, token, token.removeprefix("scim_")] if s in stored]
    print(f"\n{len(secret.planted)} secrets planted in {ProvisioningLog.objects.count()} requests; "
          f"{len(found)} found in {len(connection.introspection.table_names())} tables")
    assert found == []


def test_credential_parameters_are_scrubbed_and_the_rest_kept(scim):
    scim.get("Users?count=1&access_token=abc&filter=userName%20eq%20%22x%22&Token=def")
    row = ProvisioningLog.objects.order_by("-pk").first()
    assert row.path == '/scim/v2/Users?count=1&access_token=[removed]&filter=userName%20eq%20%22x%22&Token=[removed]'


def test_a_body_that_is_not_json_is_kept_as_size_and_digest(scim):
    raw = "password=hunter2&userName=x"
    scim.post("Users", raw=raw, content_type="application/x-www-form-urlencoded")
    row = ProvisioningLog.objects.order_by("-pk").first()
    import hashlib

    assert row.request_body == {"unparsed": True, "size": len(raw),
                                "sha256": hashlib.sha256(raw.encode()).hexdigest()}
