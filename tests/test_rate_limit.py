"""Rate limit per credential: 429 with Retry-After past the limit, counted in Django's cache."""

from __future__ import annotations

import base64
from unittest import mock

import pytest
from django.core.cache import caches
from django.test import Client, override_settings

from scim_portal import checks
from scim_portal.api.throttling import parse_rate
from scim_portal.models import IdentityProvider, OAuthClient, ScimToken
from tests.conftest import ScimClient

pytestmark = pytest.mark.django_db

SHARED_CACHE = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "unused"}


@pytest.fixture(autouse=True)
def fresh_cache():
    caches["default"].clear()
    yield
    caches["default"].clear()


@pytest.fixture
def limited(settings):
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "RATE_LIMIT": "3/min"}


def calls(scim: ScimClient, n: int) -> list:
    return [scim.get("ServiceProviderConfig") for _ in range(n)]


def test_past_the_limit_is_429_with_retry_after(limited, scim):
    with mock.patch("scim_portal.api.throttling.time.time", return_value=120.0 * 1000 + 15):
        responses = calls(scim, 4)
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    refused = responses[-1]
    assert refused["Retry-After"] == "45"  # the minute ends 45 seconds later
    assert refused.json_body["status"] == "429"
    assert refused.json_body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_the_next_window_allows_again(limited, scim):
    start = 60.0 * 5000
    with mock.patch("scim_portal.api.throttling.time.time", return_value=start):
        assert calls(scim, 4)[-1].status_code == 429
    with mock.patch("scim_portal.api.throttling.time.time", return_value=start + 60):
        assert scim.get("ServiceProviderConfig").status_code == 200


def test_each_credential_has_its_own_allowance(limited, integration, make_integration):
    first = ScimClient(ScimToken.issue(integration).raw)
    second = ScimClient(ScimToken.issue(integration).raw)
    other = ScimClient(ScimToken.issue(make_integration()).raw)
    assert calls(first, 4)[-1].status_code == 429
    assert second.get("ServiceProviderConfig").status_code == 200
    assert other.get("ServiceProviderConfig").status_code == 200


def test_oauth_clients_are_limited_per_client_across_access_tokens(limited, make_integration):
    issued = OAuthClient.register(make_integration(IdentityProvider.GENERIC), name="c",
                                  grant_type="client-credentials")
    auth = "Basic " + base64.b64encode(f"{issued.client.client_id}:{issued.secret}".encode()).decode()

    def new_token() -> ScimClient:
        response = Client().post("/scim/v2/oauth/token/", {"grant_type": "client_credentials"},
                                 HTTP_AUTHORIZATION=auth)
        return ScimClient(response.json()["access_token"])

    assert calls(new_token(), 3)[-1].status_code == 200
    assert new_token().get("ServiceProviderConfig").status_code == 429


def test_no_limit_by_default(scim):
    assert {r.status_code for r in calls(scim, 30)} == {200}


def test_unauthenticated_requests_are_refused_before_counting(limited, scim):
    calls(ScimClient("scim_unknown"), 5)
    assert scim.get("ServiceProviderConfig").status_code == 200


@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
                           "counters": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                        "LOCATION": "counters"}})
def test_counts_live_in_the_configured_cache(settings, scim):
    """All state is in RATE_LIMIT_CACHE, so app servers sharing that cache share the limit."""
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "RATE_LIMIT": "3/min", "RATE_LIMIT_CACHE": "counters"}
    assert calls(scim, 4)[-1].status_code == 429
    caches["default"].clear()
    assert scim.get("ServiceProviderConfig").status_code == 429
    caches["counters"].clear()
    assert scim.get("ServiceProviderConfig").status_code == 200


@pytest.mark.parametrize("rate, expected", [("600/min", (600, 60)), ("10/s", (10, 1)), ("5000/hour", (5000, 3600)),
                                            ("1/day", (1, 86400))])
def test_parse_rate(rate, expected):
    assert parse_rate(rate) == expected


@pytest.mark.parametrize("rate", ["fast", "0/min", "10/fortnight", "-1/s", "/min"])
def test_parse_rate_rejects(rate):
    with pytest.raises(ValueError):
        parse_rate(rate)


def ids(messages) -> list[str]:
    return [m.id for m in messages]


@override_settings(SCIM_PORTAL={"RATE_LIMIT": "lots"})
def test_e021_bad_rate():
    assert ids(checks.check_credentials()) == ["scim_portal.E021"]


@override_settings(SCIM_PORTAL={"RATE_LIMIT": "600/min"})
def test_w020_rate_limit_on_a_per_process_cache():
    assert ids(checks.check_credentials()) == ["scim_portal.W020"]


@override_settings(SCIM_PORTAL={"RATE_LIMIT": "600/min", "RATE_LIMIT_CACHE": "shared"},
                   CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
                           "shared": SHARED_CACHE})
def test_shared_cache_is_clean():
    assert checks.check_credentials() == []

