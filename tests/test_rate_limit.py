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
                           "counters": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                        "LOCATION": "unix:///nonexistent/scim-portal-redis.sock"}})
def test_a_counter_cache_that_is_down_is_a_503_the_idp_retries(settings, scim, integration):
    """Redis down: not a 500, a SCIM 503 with Retry-After, and nothing applied."""
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "RATE_LIMIT": "3/min", "RATE_LIMIT_CACHE": "counters"}
    response = scim.post("Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                   "userName": "cache.down@example.com"})
    assert response.status_code == 503 and response["Retry-After"]
    assert response.json_body["status"] == "503" and "Retry after" in response.json_body["detail"]
    assert not integration.scim_users.exists()


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



# --- atomic counters, refused backends, several app servers (issue #11 item 6) ----------------------

FILE_CACHE = {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": "/tmp/unused"}


@pytest.mark.parametrize("cache", [FILE_CACHE, {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}])
def test_e024_manage_py_check_refuses_caches_that_cannot_count(cache):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    with override_settings(SCIM_PORTAL={"RATE_LIMIT": "600/min", "RATE_LIMIT_CACHE": "shared"},
                           CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
                                   "shared": cache}):
        assert ids(checks.check_credentials()) == ["scim_portal.E024"]
        with pytest.raises(SystemCheckError, match=r"scim_portal\.E024"):
            call_command("check")


@override_settings(SCIM_PORTAL={"UNAUTHENTICATED_RATE_LIMIT": "often"})
def test_e021_bad_unauthenticated_rate():
    assert ids(checks.check_credentials()) == ["scim_portal.E021"]


@override_settings(SCIM_PORTAL={"RATE_LIMIT": "lots", "UNAUTHENTICATED_RATE_LIMIT": "often"})
def test_e021_each_bad_rate_is_reported():
    messages = checks.check_credentials()
    assert ids(messages) == ["scim_portal.E021", "scim_portal.E021"]
    assert "'RATE_LIMIT'" in messages[0].msg and "'UNAUTHENTICATED_RATE_LIMIT'" in messages[1].msg


@pytest.mark.parametrize("cache", [FILE_CACHE, {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}])
def test_w024_the_refusal_limit_alone_warns_of_a_cache_that_cannot_count(cache):
    # RATE_LIMIT is off by default; UNAUTHENTICATED_RATE_LIMIT ("30/min", on by default) counts in the
    # same cache: a warning, so a portal whose cache is a file still starts after an upgrade.
    with override_settings(SCIM_PORTAL={}, CACHES={"default": cache}):
        messages = checks.check_credentials()
        assert ids(messages) == ["scim_portal.W024"]
        assert messages[0].msg.startswith("UNAUTHENTICATED_RATE_LIMIT cannot be counted")
    with override_settings(SCIM_PORTAL={"UNAUTHENTICATED_RATE_LIMIT": None}, CACHES={"default": cache}):
        assert checks.check_credentials() == []


@override_settings(SCIM_PORTAL={})
def test_no_w020_for_the_refusal_limit_alone():
    # An address's refusals counted per process still bound what each process logs.
    assert checks.check_credentials() == []


def test_a_database_cache_counts_in_our_table(settings, scim):
    from scim_portal.models import RateCounter

    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "RATE_LIMIT": "3/min", "RATE_LIMIT_CACHE": "shared"}
    settings.CACHES = {**settings.CACHES, "shared": SHARED_CACHE}
    with mock.patch("scim_portal.api.throttling.time.time", return_value=60.0 * 7000 + 1):
        assert [r.status_code for r in calls(scim, 4)] == [200, 200, 200, 429]
        assert RateCounter.objects.get().hits == 4
    with mock.patch("scim_portal.api.throttling.time.time", return_value=60.0 * 7001 + 1):
        assert scim.get("ServiceProviderConfig").status_code == 200  # a new window resets the row
        assert RateCounter.objects.get().hits == 1


# Several app servers: two gunicorn servers (2 workers x 4 threads each) share one counter.

LIMIT = 40
REQUESTS = 120


@pytest.fixture(scope="module")
def live_cluster():
    from django.db import connection

    from tests.pgcluster import start_cluster

    if connection.vendor != "postgresql":
        pytest.skip("the multi-server rate-limit test runs on PostgreSQL (SCIM_PORTAL_TEST_DB=postgres)")
    cluster = start_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def redis_socket(tmp_path):
    import shutil
    import subprocess
    import time

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server)")
    socket_path = tmp_path / "redis.sock"
    proc = subprocess.Popen([binary, "--port", "0", "--unixsocket", str(socket_path), "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not socket_path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    yield socket_path
    proc.terminate()
    proc.wait(timeout=20)


def admitted_across_two_servers(cluster, tmp_path, name: str, counters: dict) -> tuple[int, int]:
    """Fire REQUESTS from 16 threads at two servers sharing ``counters``; return (admitted, refused)."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from tests.liveserver import Gunicorn, portal_env, prepare, request

    cluster.createdb(name)
    caches_setting = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}, "counters": counters}
    env = portal_env(cluster.url(name), {"RATE_LIMIT": f"{LIMIT}/hour", "RATE_LIMIT_CACHE": "counters"},
                     caches_setting)
    token = prepare(env)
    servers = [Gunicorn(env, tmp_path / f"{name}-{n}.log", workers=2, threads=4) for n in range(2)]
    try:
        for server in servers:  # every worker loads the app (without spending the allowance)
            request(server.port, "GET", "/scim/v2/nowhere")
        barrier = threading.Barrier(16)

        def one(i: int) -> int:
            if i < 16:
                barrier.wait()
            return request(servers[i % 2].port, "GET", "/scim/v2/ServiceProviderConfig", token=token)[0]

        hour = int(time.time() // 3600)
        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(one, range(REQUESTS)))
        if int(time.time() // 3600) != hour:
            pytest.skip("the hour changed during the run; the counter was reset")
    finally:
        for server in servers:
            server.stop()
    assert set(statuses) <= {200, 429}, statuses
    return statuses.count(200), statuses.count(429)


def test_two_servers_share_the_limit_on_the_database_cache(live_cluster, tmp_path):
    counters = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "scim_rate_cache"}
    admitted, refused = admitted_across_two_servers(live_cluster, tmp_path, "rate_db", counters)
    print(f"\ndatabase cache: {admitted} admitted of {REQUESTS} (limit {LIMIT}), {refused} x 429")
    assert admitted == LIMIT


def test_two_servers_share_the_limit_on_redis(live_cluster, tmp_path, redis_socket):
    counters = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": f"unix://{redis_socket}"}
    admitted, refused = admitted_across_two_servers(live_cluster, tmp_path, "rate_redis", counters)
    print(f"\nRedis: {admitted} admitted of {REQUESTS} (limit {LIMIT}), {refused} x 429")
    assert admitted == LIMIT


def test_prune_logs_deletes_counters_of_windows_over_a_day_old(db):
    from io import StringIO

    from django.core.management import call_command

    from scim_portal.models import RateCounter

    now = 1_700_000_000
    RateCounter.objects.bulk_create([
        RateCounter(name=name, period_start=now - age, hits=1)
        for name, age in [("addr:192.0.2.1", 3 * 86400), ("addr:192.0.2.2", 86400 + 60),
                          ("token:today", 86400 - 60), ("token:now", 0)]
    ])
    out = StringIO()
    with mock.patch("scim_portal.models.ratelimit.time.time", return_value=now + 0.5):
        call_command("scim_prune_logs", stdout=out)
    assert sorted(RateCounter.objects.values_list("name", flat=True)) == ["token:now", "token:today"]
    assert "2 expired rate-limit counters" in out.getvalue()
