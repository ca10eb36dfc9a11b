"""Unauthenticated traffic cannot fill the disk (issue #11 item 5).

Refused requests are logged without bodies (method, scrubbed path, address, reason), and an
address that reached ``UNAUTHENTICATED_RATE_LIMIT`` refusals gets 429 with ``Retry-After``
before any work (no credential lookup, no log row) until its window ends.
"""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from scim_portal.api.throttling import address_key
from scim_portal.models import ProvisioningLog
from tests.conftest import ScimClient
from tests.protocol import ERROR, user_body

pytestmark = pytest.mark.django_db

BIG = user_body("intruder@example.com", title="x" * 15_000)


def stored_bytes() -> int:
    """Bytes the log rows hold (their text and JSON columns as the database returns them)."""
    return sum(len(str(row)) for row in ProvisioningLog.objects.values_list())


@pytest.fixture
def limit(settings):
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "UNAUTHENTICATED_RATE_LIMIT": "5/min"}


def test_refused_requests_are_logged_without_bodies(settings):
    response = ScimClient("scim_wrong").post("Users?access_token=abc", BIG)
    assert response.status_code == 401
    row = ProvisioningLog.objects.get()
    assert row.request_body is None and row.response_body is None
    assert (row.method, row.path, row.status) == ("POST", "/scim/v2/Users?access_token=[removed]", 401)
    assert "127.0.0.1" in row.detail and row.detail.startswith("The access token is invalid")


def test_past_the_limit_an_address_gets_429_before_any_work(limit):
    anonymous = ScimClient("scim_wrong")
    with mock.patch("scim_portal.api.throttling.time.time", return_value=60.0 * 1000 + 20):
        assert [anonymous.get("Users").status_code for _ in range(5)] == [401] * 5
        with CaptureQueriesContext(connection) as queries:
            refused = anonymous.post("Users", BIG)
        assert len(queries) == 0  # no token lookup, no log row
        assert refused.status_code == 429
        assert refused["Retry-After"] == "40"
        assert refused.json_body["schemas"] == [ERROR] and refused.json_body["status"] == "429"
    assert ProvisioningLog.objects.count() == 5
    with mock.patch("scim_portal.api.throttling.time.time", return_value=60.0 * 1001 + 1):
        assert anonymous.get("Users").status_code == 401  # the next window


def test_other_addresses_are_not_affected(limit, scim):
    anonymous = ScimClient("scim_wrong")
    for _ in range(6):
        anonymous.get("Users")
    assert anonymous.get("Users").status_code == 429
    elsewhere = ScimClient("scim_wrong")
    assert elsewhere.client.get("/scim/v2/Users", REMOTE_ADDR="10.0.0.9").status_code == 401
    assert scim.client.get("/scim/v2/Users", REMOTE_ADDR="10.0.0.8",
                           HTTP_AUTHORIZATION=f"Bearer {scim.token}").status_code == 200


@pytest.mark.parametrize(("remote_addr", "key"), [
    ("192.0.2.7", "addr:192.0.2.7"),
    ("::ffff:192.0.2.7", "addr:192.0.2.7"),  # an IPv4 client through an IPv6 socket
    ("::ffff:c000:208", "addr:192.0.2.8"),
    ("2001:db8:1:2:3:4:5:6", "addr:2001:db8:1:2::/64"),
    ("2001:db8:1:2::9", "addr:2001:db8:1:2::/64"),
    ("::1", "addr:::/64"),
    ("not an address", "addr:not an address"),
    ("", "addr:unknown"),
])
def test_address_key(remote_addr, key):
    assert address_key(RequestFactory().get("/", REMOTE_ADDR=remote_addr)) == key


def test_ipv4_clients_through_an_ipv6_socket_have_their_own_allowance(limit):
    anonymous = ScimClient("scim_wrong")
    for _ in range(6):
        anonymous.client.get("/scim/v2/Users", REMOTE_ADDR="::ffff:198.51.100.1")
    assert anonymous.client.get("/scim/v2/Users", REMOTE_ADDR="::ffff:198.51.100.1").status_code == 429
    assert anonymous.client.get("/scim/v2/Users", REMOTE_ADDR="198.51.100.1").status_code == 429  # the same client
    assert anonymous.client.get("/scim/v2/Users", REMOTE_ADDR="::ffff:203.0.113.2").status_code == 401


def test_authenticated_requests_do_not_count(limit, scim):
    assert {scim.get("ServiceProviderConfig").status_code for _ in range(20)} == {200}
    assert ScimClient(None).get("Users").status_code == 401


def test_bytes_stored_per_1000_unauthenticated_requests(settings):
    """The figure for the issue: 1,000 refused requests of 16 KB bodies from one address."""
    anonymous = ScimClient("scim_wrong")
    with mock.patch("scim_portal.api.throttling.time.time", return_value=60.0 * 2000):  # one window
        statuses = [anonymous.post("Users", BIG).status_code for _ in range(1000)]
    limited = stored_bytes()
    rows = ProvisioningLog.objects.count()
    ProvisioningLog.objects.all().delete()
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "UNAUTHENTICATED_RATE_LIMIT": None}
    for _ in range(100):
        anonymous.post("Users", BIG)
    unlimited = stored_bytes() * 10
    print(f"\n1,000 refused requests of {len(str(BIG))} B: {statuses.count(401)} x 401, "
          f"{statuses.count(429)} x 429; {rows} rows, {limited} B stored with the default limit; "
          f"{unlimited} B without a limit (bodies are never stored)")
    assert statuses.count(401) == 30 and statuses.count(429) == 970
    assert rows == 30
    assert limited < 15_000
    assert unlimited < 400_000
