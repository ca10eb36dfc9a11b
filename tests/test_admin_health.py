"""Admin: an integration's health (cheap at any log size), the list's status columns, the self-check."""

from __future__ import annotations

import datetime as dt
import re
import socket

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from scim_portal import selfcheck
from scim_portal.health import health
from scim_portal.models import IdentityProvider, ProvisioningLog, ScimToken
from scim_portal.models.audit import Outcome


def log(integration, minutes_ago: float, status: int = 200, method: str = "GET", path: str = "/scim/v2/Users/1",
        scim_type: str = "", detail: str = "", credential: str = "scim_abcdefgh") -> ProvisioningLog:
    return ProvisioningLog.objects.create(
        integration=integration, created=timezone.now() - dt.timedelta(minutes=minutes_ago), method=method,
        credential=credential,
        path=path, status=status, outcome=Outcome.SUCCESS if status < 400 else Outcome.FAILURE,
        scim_type=scim_type, detail=detail, duration_ms=1, request_id=f"r{minutes_ago}")


@pytest.fixture
def admin_browser(db) -> Client:
    browser = Client()
    browser.force_login(get_user_model().objects.create_superuser(email="root@example.com", password="pw"))
    return browser


@pytest.mark.django_db
def test_health_reads_the_latest_rows_in_a_fixed_number_of_queries(integration, make_integration,
                                                                   django_assert_num_queries):
    other = make_integration(IdentityProvider.ENTRA)
    log(integration, 60 * 30, status=409, scim_type="uniqueness", detail="old failure")  # outside 24 hours
    log(integration, 60 * 3, status=400, method="POST", scim_type="invalidValue", detail="Missing emails")
    test_call = log(integration, 50, path='/scim/v2/Users?filter=userName+eq+"x"')
    success = log(integration, 5, method="PATCH")
    last = log(integration, 2, status=404, detail="no such user")
    log(other, 1, status=500)
    ScimToken.issue(integration, expires_at=timezone.now() + dt.timedelta(days=3), description="soon")
    ScimToken.issue(integration, expires_at=timezone.now() + dt.timedelta(days=60))
    with django_assert_num_queries(8):
        report = health(integration)
    assert report.last_request == last and report.last_success == success and report.last_error == last
    assert report.failures_24h == 2 and report.test_call == test_call
    assert [t.description for t in report.expiring] == ["soon"]
    assert (report.managed_users, report.managed_groups) == (0, 0)


@pytest.mark.django_db
def test_health_leaves_the_self_check_probe_out(integration):
    idp = log(integration, 30, path="/scim/v2/Users?startIndex=1&count=1")
    for status in (200, 403):
        log(integration, 1, status=status, path="/scim/v2/ServiceProviderConfig",
            credential=selfcheck.PROBE_CREDENTIAL)
    report = health(integration)
    assert report.last_request == report.last_success == report.test_call == idp
    assert (report.last_error, report.failures_24h) == (None, 0)


@pytest.mark.django_db
def test_expiring_tokens_are_live_ones_expiring_within_the_window(integration):
    start = timezone.now()
    within = dt.timedelta(days=14)

    def token(description: str, days: float | None, revoked: bool = False) -> None:
        issued = ScimToken._create(integration, description=description, scopes="read", service_account=None,
                                   expires_at=start + dt.timedelta(days=days) if days is not None else None)
        if revoked:
            issued.token.revoke()

    token("soon", 3)
    token("edge", 14)
    token("later", 15)
    token("expired", -1)
    token("never", None)
    token("revoked", 3, revoked=True)
    now = timezone.now()
    found = ScimToken.objects.filter(integration=integration).expiring(within, now)
    assert sorted(found.values_list("description", flat=True)) == ["edge", "soon"]
    assert [t.description for t in health(integration, now).expiring] == ["soon", "edge"]


@pytest.mark.django_db
def test_health_counts_managed_users_and_groups(scim, integration):
    scim.post("Users", {"userName": "alice@example.com", "name": {"givenName": "A", "familyName": "B"},
                        "emails": [{"value": "alice@example.com", "primary": True}]})
    scim.post("Groups", {"displayName": "Engineering"})
    report = health(integration)
    assert (report.managed_users, report.managed_groups) == (1, 1)
    assert report.last_request.method == "POST" and report.last_error is None


@pytest.mark.django_db
def test_the_idp_test_call_shows_after_a_quiet_minute(scim, integration, admin_browser):
    """Reads are logged as the credential's first in TOKEN_LAST_USED_PRECISION seconds (LOG_READS sampled):
    the test call shows after a quiet minute; a second one within the minute leaves no trace."""
    credential = ScimToken.objects.filter(integration=integration)
    change_page = reverse("admin:scim_portal_integration_change", args=[integration.pk])
    credential.update(last_used_at=None)
    assert scim.get("Users?startIndex=1&count=1").status_code == 200
    first = health(integration).test_call
    assert first is not None and first.path.endswith("/Users?startIndex=1&count=1") and first.status == 200
    page = admin_browser.get(change_page).content.decode()
    assert "A user lookup arrived" in page and "/Users?startIndex=1&amp;count=1" in page

    credential.update(last_used_at=timezone.now())
    assert scim.get('Users?filter=userName eq "someone@example.com"').status_code == 200
    assert health(integration).test_call == first
    assert "someone@example.com" not in admin_browser.get(change_page).content.decode()


@pytest.mark.django_db
def test_the_empty_test_call_says_when_a_call_shows(admin_browser, integration):
    page = admin_browser.get(reverse("admin:scim_portal_integration_change", args=[integration.pk])).content.decode()
    assert "No user lookup from the IdP yet" in page and "after a quiet minute" in page
    assert "LOG_READS" in page


@pytest.mark.django_db
def test_the_page_shows_health_with_human_times_and_links(admin_browser, integration):
    log(integration, 3, status=400, method="POST", scim_type="invalidValue", detail="Missing required attribute")
    page = admin_browser.get(reverse("admin:scim_portal_integration_change", args=[integration.pk])).content.decode()
    assert "3\xa0minutes ago</time>" in page and 'title="20' in page
    assert "invalidValue" in page and "Missing required attribute" in page
    assert f"integration__id__exact={integration.pk}&amp;outcome__exact=failure" in page
    assert "No user lookup from the IdP yet" in page and "Run a self-check" in page


@pytest.mark.django_db
def test_the_list_shows_status_columns_in_constant_queries(admin_browser, make_integration,
                                                           django_assert_max_num_queries):
    changelist = reverse("admin:scim_portal_integration_changelist")
    first = make_integration()
    log(first, 10, status=401)
    log(first, 30, status=409, scim_type="uniqueness")
    ScimToken.issue(first, expires_at=timezone.now() + dt.timedelta(days=2))
    admin_browser.get(changelist)
    with django_assert_max_num_queries(12) as one:
        page = admin_browser.get(changelist).content.decode()
    assert "10\xa0minutes ago</time> · 401" in page and f"integration__id__exact={first.pk}" in page
    assert re.search(r'<td class="field-last_error">.*?>401</span></a> · <time[^>]*>10\xa0minutes ago', page)
    assert re.search(r'<td class="field-failures">.*?>2</span>', page)
    assert re.search(r'<td class="field-expiring"><span class="scim-bad">1</span>', page)
    for _ in range(3):
        log(make_integration(), 1)
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = admin_browser.get(changelist).content.decode()
    assert page.count("minute ago</time> · 200") == 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db
def test_self_check_reports_an_unreachable_base_url(integration):
    checks = selfcheck.run(integration, f"http://127.0.0.1:{free_port()}/scim/v2/")
    assert [(c.name, c.ok) for c in checks] == [("Reachable", False)]
    assert not ScimToken.objects.exists()


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_self_check_over_http_from_the_admin(live_server, make_integration, settings):
    integration = make_integration()
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "BASE_URL": f"{live_server.url}/scim/v2/"}
    browser = Client()
    browser.force_login(get_user_model().objects.create_superuser(email="root@example.com", password="pw"))
    response = browser.post(reverse("admin:scim_portal_integration_self_check", args=[integration.pk]))
    assert response.status_code == 302 and response["Location"].endswith("#scim-health")
    page = browser.get(response["Location"]).content.decode()
    for line in ("Reachable: HTTP 401", "TLS: not used", "Refuses requests without a token: 401",
                 "Accepts a bearer token: 200 with the ServiceProviderConfig"):
        assert line in page
    assert page.count('class="scim-ok"') >= 3 and not ScimToken.objects.exists()  # the probe is gone
    probe = ScimToken.history.model.objects.filter(description="self-check probe")
    assert {record.history_type for record in probe} == {"+", "-"}
    assert {record.created_by_id for record in probe} == {get_user_model().objects.get(email="root@example.com").pk}
    probe_row = ProvisioningLog.objects.get(integration=integration, status=200)
    assert probe_row.credential == selfcheck.PROBE_CREDENTIAL  # the log names the probe
    # The IdP has never called: the probe's own request is not its "last request".
    report = health(integration)
    assert (report.last_request, report.last_success, report.last_error, report.failures_24h) == (None, None,
                                                                                                  None, 0)
    assert "No request from the IdP yet." in page
    listing = browser.get(reverse("admin:scim_portal_integration_changelist")).content.decode()
    assert "none yet" in listing and "just now" not in listing


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_self_check_works_in_a_host_with_atomic_requests(live_server, make_integration, settings, monkeypatch):
    """The probe token must be committed before the probe reaches the API on another connection
    (PostgreSQL; the live server shares the in-memory SQLite connection)."""
    from django.db import connections

    monkeypatch.setitem(connections.settings["default"], "ATOMIC_REQUESTS", True)
    integration = make_integration()
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "BASE_URL": f"{live_server.url}/scim/v2/"}
    browser = Client()
    browser.force_login(get_user_model().objects.create_superuser(email="root@example.com", password="pw"))
    response = browser.post(reverse("admin:scim_portal_integration_self_check", args=[integration.pk]))
    page = browser.get(response["Location"]).content.decode()
    assert "Accepts a bearer token: 200 with the ServiceProviderConfig" in page, page
    assert not ScimToken.objects.exists()


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_self_check_sees_a_disabled_integration_refuse_the_token(live_server, make_integration):
    integration = make_integration(enabled=False)
    checks = {c.name: c for c in selfcheck.run(integration, f"{live_server.url}/scim/v2/")}
    assert checks["Reachable"].ok and checks["Refuses requests without a token"].ok
    assert checks["Accepts a bearer token"].ok is False and "got 401" in checks["Accepts a bearer token"].detail


@pytest.mark.django_db
def test_self_check_needs_change_permission_and_post(integration):
    staff = get_user_model().objects.create_user(email="viewer@example.com", is_staff=True)
    browser = Client()
    browser.force_login(staff)
    url = reverse("admin:scim_portal_integration_self_check", args=[integration.pk])
    assert browser.post(url).status_code == 403
    assert not ScimToken.objects.exists()


def self_signed_pair(folder) -> tuple[str, str]:
    """A throwaway certificate for 127.0.0.1 that no trust store knows."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@pytest.mark.django_db
def test_self_check_reports_a_certificate_that_does_not_verify(integration, tmp_path):
    import http.server
    import ssl
    import threading

    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed_pair(tmp_path))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        checks = selfcheck.run(integration, f"https://127.0.0.1:{server.server_address[1]}/scim/v2/")
    finally:
        server.shutdown()
        server.server_close()
    assert [(c.name, c.ok) for c in checks] == [("Reachable", True), ("TLS", False)]
    assert "CERTIFICATE_VERIFY_FAILED" in checks[1].detail
    assert not ScimToken.objects.exists()
