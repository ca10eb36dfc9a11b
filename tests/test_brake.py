"""The deprovisioning brake: a burst of deactivations past the threshold is held, not applied."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.models import UserSession
from scim_portal import brake, checks, signals
from scim_portal.models import (
    BurstStatus,
    Deprovisioning,
    DeprovisioningBrake,
    DeprovisioningBurst,
    DeprovisioningCount,
    HeldRequest,
    IdentityProvider,
    ScimUser,
)
from scim_portal.models.guard import MAX_WINDOW_MINUTES
from tests.conftest import ScimClient
from tests.factories import bulk_users

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#: What Okta sends to deactivate (no-path replace, docs/idp/okta.md).
OKTA_DEACTIVATE = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]}
BRAKE_TABLES = ("scim_portal_deprovisioning", "scim_portal_heldrequest")
OKTA_REACTIVATE = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": True}}]}


def set_brake(integration, **limits: Any) -> DeprovisioningBrake:
    row, _created = DeprovisioningBrake.objects.update_or_create(integration=integration, defaults=limits)
    return row


def login_session(user) -> str:
    """A real portal session of ``user``, as the example portal records it at login."""
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session.create()
    UserSession.objects.create(user=user, session_key=session.session_key)
    return session.session_key


def host_active(scim_user: ScimUser) -> bool:
    return get_user_model().objects.get(pk=scim_user.user_id).is_active


def deactivate(client: ScimClient, scim_user: ScimUser):
    return client.patch(f"Users/{scim_user.scim_id}", OKTA_DEACTIVATE)


@pytest.fixture
def okta(integration, scim):
    """An Okta integration of 20 users whose brake trips past 5 deprovisionings in 10 minutes."""
    set_brake(integration, max_count=5, max_percent=10, window_minutes=10, notify_emails="ops@example.com")
    return integration, scim, bulk_users(integration, 20)


@pytest.fixture
def paused(okta, django_capture_on_commit_callbacks):
    """The Okta integration after a burst of 8 deactivations: 5 applied, 3 held."""
    integration, client, users = okta
    with django_capture_on_commit_callbacks(execute=True):
        responses = [deactivate(client, user) for user in users[:8]]
    return integration, client, users, responses


class TestBurst:
    def test_past_the_threshold_requests_are_held_and_nothing_is_applied(self, paused):
        _integration, client, users, responses = paused
        assert [r.status_code for r in responses] == [200] * 5 + [503] * 3
        held = responses[5]
        assert held["Retry-After"] == "900"
        assert held.json_body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert held.json_body["status"] == "503"
        assert "paused for this integration after 5 deactivations" in held.json_body["detail"]
        assert "a portal admin must release it" in held.json_body["detail"]
        assert [host_active(u) for u in users[:8]] == [False] * 5 + [True] * 3
        # The IdP reads the truth: the held users are still active.
        assert all(client.get(f"Users/{u.scim_id}").json_body["active"] for u in users[5:8])

    def test_the_burst_names_the_people_and_the_requests(self, paused):
        integration, _client, users, responses = paused
        burst = DeprovisioningBurst.objects.get(integration=integration)
        assert (burst.status, burst.count, burst.window_minutes, burst.active_users) == (
            BurstStatus.PAUSED, 5, 10, 20)
        held = list(burst.held.order_by("pk"))
        assert [h.scim_user_id for h in held] == [u.pk for u in users[5:8]]
        assert [h.request_id for h in held] == [r["X-Request-ID"] for r in responses[5:8]]
        assert {h.method for h in held} == {"PATCH"}

    def test_nobody_past_the_threshold_loses_sessions(self, okta):
        _integration, client, users = okta
        keys = {user.pk: login_session(user.user) for user in users[:7]}
        statuses = [deactivate(client, user).status_code for user in users[:7]]
        assert statuses == [200] * 5 + [503] * 2
        kept = set(Session.objects.filter(session_key__in=keys.values()).values_list("session_key", flat=True))
        assert kept == {keys[u.pk] for u in users[5:7]}

    def test_admins_are_told_once_by_email_and_signal(self, okta, mailoutbox, django_capture_on_commit_callbacks):
        integration, client, users = okta
        told: list[dict[str, Any]] = []

        def receiver(sender, **kwargs):
            told.append(kwargs)

        signals.deprovisioning_paused.connect(receiver)
        try:
            with django_capture_on_commit_callbacks(execute=True):
                for user in users[:9]:
                    deactivate(client, user)
        finally:
            signals.deprovisioning_paused.disconnect(receiver)
        assert len(told) == 1 and told[0]["count"] == 5 and told[0]["integration"] == integration
        assert len(mailoutbox) == 1
        assert mailoutbox[0].to == ["ops@example.com"]
        assert integration.name in mailoutbox[0].subject
        assert "5 users were deactivated or deleted in 10 minutes" in mailoutbox[0].body

    def test_retries_while_paused_are_held_again_and_counted_as_attempts(self, paused):
        integration, client, users, _responses = paused
        assert deactivate(client, users[5]).status_code == 503
        hold = HeldRequest.objects.get(scim_user=users[5])
        assert hold.attempts == 2
        assert DeprovisioningBurst.objects.filter(integration=integration).count() == 1

    def test_creates_and_reactivations_are_never_held(self, paused):
        _integration, client, users, _responses = paused
        assert client.patch(f"Users/{users[0].scim_id}", OKTA_REACTIVATE).status_code == 200
        assert host_active(users[0])
        created = client.post("Users", {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "new@example.com",
            "name": {"givenName": "New", "familyName": "Joiner"},
            "emails": [{"value": "new@example.com", "type": "work", "primary": True}], "active": True,
        })
        assert created.status_code == 201
        assert client.get(f"Users/{users[6].scim_id}").status_code == 200

    def test_other_integrations_are_not_held(self, paused, make_integration, scim_for):
        other = make_integration(IdentityProvider.OKTA)
        users = bulk_users(other, 3, prefix="other")
        client = scim_for(other)
        assert [deactivate(client, u).status_code for u in users] == [200] * 3


class TestDecisions:
    def test_after_release_the_retries_apply(self, paused, admin_user):
        integration, client, users, _responses = paused
        burst = DeprovisioningBurst.objects.get(integration=integration)
        brake.decide(burst, BurstStatus.RELEASED, admin_user, "planned offboarding")
        assert [deactivate(client, u).status_code for u in users[5:8]] == [200] * 3
        assert not any(host_active(u) for u in users[5:8])
        assert HeldRequest.objects.filter(burst=burst, applied_at__isnull=False).count() == 3
        assert DeprovisioningBrake.objects.get(pk=integration.pk).approved_pending == 0

    def test_a_normal_pace_after_release_is_not_held(self, paused, admin_user):
        integration, client, users, _responses = paused
        brake.decide(DeprovisioningBurst.objects.get(integration=integration), BurstStatus.RELEASED, admin_user)
        for u in users[5:8]:
            deactivate(client, u)
        # The burst's count is forgotten and the released retries are not counted: 5 more pass.
        assert [deactivate(client, u).status_code for u in users[8:13]] == [200] * 5
        assert deactivate(client, users[13]).status_code == 503

    def test_keep_paused_keeps_holding_and_is_in_the_history(self, paused, admin_user):
        integration, client, users, _responses = paused
        burst = DeprovisioningBurst.objects.get(integration=integration)
        brake.decide(burst, BurstStatus.KEPT, admin_user, "checking the Okta scoping rule")
        assert deactivate(client, users[5]).status_code == 503
        assert host_active(users[5])
        record = burst.history.order_by("-history_id").first()
        assert record.status == BurstStatus.KEPT
        assert record.history_user_id == admin_user.pk
        assert "checking the Okta scoping rule" in record.history_change_reason

    def test_dismiss_resumes_without_approving_the_holds(self, paused, admin_user):
        integration, client, users, _responses = paused
        burst = DeprovisioningBurst.objects.get(integration=integration)
        brake.decide(burst, BurstStatus.DISMISSED, admin_user, "IdP fixed")
        assert HeldRequest.objects.filter(burst=burst, applied_at__isnull=False).count() == 0
        # A retry now counts like any new request: the first five pass again.
        assert deactivate(client, users[5]).status_code == 200
        assert [r.history_change_reason for r in burst.history.order_by("history_id")][-1].endswith("IdP fixed")

    def test_a_burst_is_decided_once(self, paused, admin_user):
        integration, *_rest = paused
        burst = DeprovisioningBurst.objects.get(integration=integration)
        brake.decide(burst, BurstStatus.RELEASED, admin_user)
        with pytest.raises(ValueError):
            brake.decide(burst, BurstStatus.DISMISSED, admin_user)


class TestLimits:
    def test_entra_delete_counts_too(self, make_integration, scim_for):
        integration = make_integration(IdentityProvider.ENTRA)
        set_brake(integration, max_count=3, max_percent=0)
        users = bulk_users(integration, 6, prefix="entra")
        client = scim_for(integration)
        statuses = [client.delete(f"Users/{u.scim_id}").status_code for u in users[:5]]
        assert statuses == [204] * 3 + [503] * 2
        assert client.get(f"Users/{users[4].scim_id}").json_body["active"] is True
        assert set(HeldRequest.objects.values_list("method", flat=True)) == {"DELETE"}

    def test_a_put_with_active_false_counts(self, okta):
        integration, client, users = okta
        set_brake(integration, max_count=1, max_percent=0)
        assert deactivate(client, users[0]).status_code == 200
        body = client.get(f"Users/{users[1].scim_id}").json_body
        body["active"] = False
        assert client.put(f"Users/{users[1].scim_id}", body).status_code == 503
        assert host_active(users[1])

    def test_a_patch_removing_active_counts(self, okta):
        # A removed "active" is unassigned, and an unassigned account is not active (docs/protocol.md).
        integration, client, users = okta
        set_brake(integration, max_count=1, max_percent=0)
        assert deactivate(client, users[0]).status_code == 200
        remove = {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "active"}]}
        assert client.patch(f"Users/{users[1].scim_id}", remove).status_code == 503
        assert host_active(users[1])
        assert client.get(f"Users/{users[1].scim_id}").json_body["active"] is True

    def test_the_share_of_active_users_must_be_passed_too(self, integration, scim):
        set_brake(integration, max_count=2, max_percent=50)
        users = bulk_users(integration, 10)
        # More than 2 and more than 50% of 10: the sixth is held, not the third.
        assert [deactivate(scim, u).status_code for u in users[:6]] == [200] * 5 + [503]

    def test_a_brake_switched_off_holds_nothing(self, okta):
        integration, client, users = okta
        set_brake(integration, enabled=False)
        assert [deactivate(client, u).status_code for u in users[:8]] == [200] * 8

    def test_the_portal_default_applies_without_a_row(self, integration, scim, settings):
        settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "BRAKE_MAX_COUNT": 2, "BRAKE_MAX_PERCENT": 0}
        users = bulk_users(integration, 4)
        assert [deactivate(scim, u).status_code for u in users] == [200, 200, 503, 503]

    def test_deleting_an_already_deactivated_user_is_not_counted(self, make_integration, scim_for):
        integration = make_integration(IdentityProvider.ENTRA)
        users = bulk_users(integration, 4, prefix="gone")
        client = scim_for(integration)
        for u in users:
            client.patch(f"Users/{u.scim_id}", OKTA_DEACTIVATE)
        # Four deactivations are in the window: counted deletions would now be held.
        set_brake(integration, max_count=1, max_percent=0)
        assert [client.delete(f"Users/{u.scim_id}").status_code for u in users] == [204] * 4

    def test_the_check_costs_the_same_queries_at_the_first_and_the_fortieth(self, integration, scim,
                                                                             monkeypatch):
        fixed = timezone.now()
        monkeypatch.setattr(timezone, "now", lambda: fixed)  # all in one minute's counter row
        set_brake(integration, max_count=1000)
        users = bulk_users(integration, 42)
        deactivate(scim, users[0])  # opens this minute's counter row

        def brake_queries(user) -> int:
            with CaptureQueriesContext(connection) as queries:
                assert deactivate(scim, user).status_code == 200
            return sum(any(table in q["sql"] for table in BRAKE_TABLES) for q in queries.captured_queries)

        first = brake_queries(users[1])
        for u in users[2:40]:
            deactivate(scim, u)
        assert brake_queries(users[40]) == first == 3


def http_deactivate(base: str, token: str, user: ScimUser) -> int:
    """Okta's deactivation over real HTTP; the status code."""
    request = urllib.request.Request(
        f"{base}/scim/v2/Users/{user.scim_id}", method="PATCH", data=json.dumps(OKTA_DEACTIVATE).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


class TestSettingsCheck:
    @pytest.mark.parametrize("bad", [
        {"BRAKE_MAX_PERCENT": 101}, {"BRAKE_WINDOW_MINUTES": 0}, {"BRAKE_MAX_COUNT": "50"},
        {"ACCESS_REVIEW_CHUNK_SIZE": 0}, {"BRAKE_NOTIFY_EMAILS": "ops@example.com"},
        {"BRAKE_WINDOW_MINUTES": MAX_WINDOW_MINUTES + 1},
    ])
    def test_e050_manage_py_check_fails_on_a_bad_guard_rail_setting(self, settings, bad):
        settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, **bad}
        with pytest.raises(SystemCheckError, match=r"scim_portal\.E050"):
            call_command("check")

    def test_e050_defaults_and_good_values_pass(self, settings):
        settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "BRAKE_MAX_PERCENT": 0, "BRAKE_NOTIFY_EMAILS": ["a@b.c"],
                                "BRAKE_WINDOW_MINUTES": MAX_WINDOW_MINUTES}
        assert [m.id for m in checks.check_guard_rails()] == []


def parallel_deactivations(base: str, token: str, users: list[ScimUser], workers: int) -> list[int]:
    """Deactivate ``users`` over HTTP from ``workers`` threads (IdP workers), all released at once."""
    barrier = threading.Barrier(workers)
    statuses: list[int] = []
    lock = threading.Lock()

    def worker(share: list[ScimUser]) -> None:
        barrier.wait()
        for user in share:
            status = http_deactivate(base, token, user)
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=worker, args=(users[i::workers],)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestConcurrentWorkers:
    """Okta's workers deactivating in parallel over HTTP: the count is exact under row locks."""

    @pytest.fixture(autouse=True)
    def postgres_only(self):
        if connection.vendor != "postgresql":
            pytest.skip("concurrent IdP workers are tested on PostgreSQL")

    def test_parallel_burst_applies_exactly_the_threshold_and_release_applies_the_rest(
            self, live_server, integration, token, admin_user):
        set_brake(integration, max_count=10, max_percent=0, window_minutes=10)
        users = bulk_users(integration, 40)
        statuses = parallel_deactivations(live_server.url, token, users[:32], workers=8)
        assert sorted(statuses) == [200] * 10 + [503] * 22
        assert ScimUser.objects.filter(integration=integration, deactivated_at__isnull=False).count() == 10
        assert get_user_model().objects.filter(scim_identity__integration=integration, is_active=False).count() == 10
        burst = DeprovisioningBurst.objects.get(integration=integration)
        assert burst.held.count() == 22
        brake.decide(burst, BurstStatus.RELEASED, admin_user)
        held = [u for u in users[:32] if host_active(u)]
        retried = parallel_deactivations(live_server.url, token, held, workers=8)
        assert retried == [200] * 22
        assert burst.held.filter(applied_at__isnull=False).count() == 22
        # Afterwards a normal pace is not held.
        assert parallel_deactivations(live_server.url, token, users[32:36], workers=4) == [200] * 4

    def test_two_admins_releasing_the_same_burst_at_once_release_it_once(self, paused, admin_user, monkeypatch):
        integration, *_rest = paused
        burst = DeprovisioningBurst.objects.get(integration=integration)
        # Each decision waits inside its transaction for the other: without the brake-row lock
        # both would read "paused" and both would approve the held requests.
        barrier = threading.Barrier(2, timeout=3)
        resume = brake.resume

        def meeting_resume(*args: Any, **kwargs: Any) -> None:
            with contextlib.suppress(threading.BrokenBarrierError):  # the other one waits for the lock
                barrier.wait()
            resume(*args, **kwargs)

        monkeypatch.setattr(brake, "resume", meeting_resume)
        outcomes: list[str] = []

        def release() -> None:
            try:
                brake.decide(burst, BurstStatus.RELEASED, admin_user, "at once")
                outcomes.append("released")
            except ValueError:
                outcomes.append("refused")
            finally:
                connection.close()

        threads = [threading.Thread(target=release) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(outcomes) == ["refused", "released"]
        assert DeprovisioningBrake.objects.get(pk=integration.pk).approved_pending == burst.held.count() == 3
        assert burst.history.filter(status=BurstStatus.RELEASED).count() == 1


class TestMethodAndPolicy:
    def test_a_held_put_records_put(self, okta):
        integration, client, users = okta
        set_brake(integration, max_count=0, max_percent=0)
        body = client.get(f"Users/{users[0].scim_id}").json_body
        body["active"] = False
        assert client.put(f"Users/{users[0].scim_id}", body).status_code == 503
        assert HeldRequest.objects.get(scim_user=users[0]).method == "PUT"

    def test_a_held_put_from_a_job_records_put(self, okta):
        """A Provisioner called outside a view (a task, a shell) names its method too."""
        from scim_portal.context import ScimContext
        from scim_portal.provisioning import Provisioner

        integration, client, users = okta
        set_brake(integration, max_count=0, max_percent=0)
        body = client.get(f"Users/{users[0].scim_id}").json_body
        body["active"] = False
        context = ScimContext(integration=integration, actor=integration.service_account, credential=None,
                              credential_label="job", request_id="job-7")
        with pytest.raises(brake.DeprovisioningHeld):
            Provisioner(context, "http://testserver/scim/v2", reason="Nightly import").replace_user(
                str(users[0].scim_id), body)
        assert HeldRequest.objects.get(scim_user=users[0]).method == "PUT"

    def test_the_delete_policy_under_a_tripped_brake_deletes_nobody_held(self, make_integration, scim_for):
        integration = make_integration(IdentityProvider.OKTA, deprovisioning=Deprovisioning.DELETE)
        set_brake(integration, max_count=2, max_percent=0)
        users = bulk_users(integration, 4, prefix="del")
        client = scim_for(integration)
        assert [client.delete(f"Users/{u.scim_id}").status_code for u in users] == [204, 204, 503, 503]
        remaining = set(get_user_model().objects.filter(pk__in=[u.user_id for u in users]).values_list("pk", flat=True))
        assert remaining == {users[2].user_id, users[3].user_id}
        assert all(host_active(u) for u in users[2:])
        assert client.get(f"Users/{users[2].scim_id}").json_body["active"] is True
        assert set(HeldRequest.objects.values_list("scim_user_id", "method")) == {
            (users[2].pk, "DELETE"), (users[3].pk, "DELETE")}


class TestApprovalExpiry:
    @pytest.fixture
    def released(self, paused, admin_user):
        integration, client, users, _responses = paused
        brake.decide(DeprovisioningBurst.objects.get(integration=integration), BurstStatus.RELEASED, admin_user)
        return integration, client, users

    def later(self, monkeypatch, delta: timedelta) -> None:
        moment = timezone.now() + delta
        monkeypatch.setattr(timezone, "now", lambda: moment)

    def state(self, integration, user: ScimUser) -> tuple[int, int, bool]:
        """(deprovisionings counted in the window, approvals pending, whether ``user``'s hold applied)."""
        counted = sum(DeprovisioningCount.objects.filter(integration=integration).values_list("count", flat=True))
        pending = DeprovisioningBrake.objects.get(pk=integration.pk).approved_pending
        return counted, pending, HeldRequest.objects.filter(scim_user=user, applied_at__isnull=False).exists()

    def test_a_retry_within_the_approval_period_passes_uncounted(self, released, monkeypatch):
        integration, client, users = released
        self.later(monkeypatch, brake.APPROVAL_TTL - timedelta(hours=1))
        assert deactivate(client, users[5]).status_code == 200
        assert self.state(integration, users[5]) == (0, 2, True)

    def test_an_approval_expires_and_the_pending_count_falls_to_zero(self, released, monkeypatch):
        integration, client, users = released
        assert self.state(integration, users[5]) == (0, 3, False)
        self.later(monkeypatch, brake.APPROVAL_TTL + timedelta(hours=1))
        # Long after the release, deactivating a held person is counted like any other request,
        # and the checks stop paying for approvals nobody will use.
        assert deactivate(client, users[5]).status_code == 200
        assert self.state(integration, users[5]) == (1, 0, False)

    def test_a_request_that_is_no_approved_retry_keeps_the_live_approvals(self, released):
        integration, client, users = released
        assert deactivate(client, users[10]).status_code == 200
        assert self.state(integration, users[5]) == (1, 3, False)
        assert [deactivate(client, u).status_code for u in users[5:8]] == [200] * 3
        assert self.state(integration, users[5]) == (1, 0, True)


class TestAdmin:
    @pytest.fixture
    def two_brakes(self, paused, make_integration):
        integration, *_rest = paused
        DeprovisioningBrake.objects.filter(pk=integration.pk).update(approved_pending=4)
        other = make_integration(IdentityProvider.OKTA)
        return DeprovisioningBrake.objects.get(pk=integration.pk), set_brake(other, max_count=30)

    def brake_form(self, **fields: Any) -> dict[str, Any]:
        return {"enabled": "unknown", "max_count": "", "max_percent": "", "window_minutes": "",
                "notify_emails": "", **fields}

    def test_the_integration_of_a_brake_cannot_be_changed(self, admin_client, two_brakes):
        own, other = two_brakes
        url = reverse("admin:scim_portal_deprovisioningbrake_change", args=[own.pk])
        response = admin_client.post(url, self.brake_form(integration=other.pk, max_count="99"))
        assert response.status_code == 302
        other_now = DeprovisioningBrake.objects.get(pk=other.pk)
        assert (other_now.max_count, other_now.paused_by_id, other_now.approved_pending) == (30, None, 0)
        own_now = DeprovisioningBrake.objects.get(pk=own.pk)
        assert (own_now.max_count, own_now.paused_by_id) == (99, own.paused_by_id)

    @pytest.mark.parametrize("window", [str(MAX_WINDOW_MINUTES + 1), "2000000000"])
    def test_a_window_past_30_days_is_refused(self, admin_client, two_brakes, window):
        _own, other = two_brakes
        url = reverse("admin:scim_portal_deprovisioningbrake_change", args=[other.pk])
        response = admin_client.post(url, self.brake_form(window_minutes=window))
        assert response.status_code == 200 and response.context["adminform"].form.errors["window_minutes"]
        assert DeprovisioningBrake.objects.get(pk=other.pk).window_minutes is None
        with pytest.raises(ValidationError):
            DeprovisioningBrake(integration=other.integration, window_minutes=int(window)).full_clean()

    def test_a_window_of_30_days_counts(self, okta):
        integration, client, users = okta
        set_brake(integration, max_count=1, max_percent=0, window_minutes=MAX_WINDOW_MINUTES)
        assert [deactivate(client, u).status_code for u in users[:3]] == [200, 503, 503]

    def test_a_window_saved_before_the_bound_is_clamped_not_a_500(self, okta):
        integration, client, users = okta
        # 2e9 minutes reach back before year 1; the first check with a counted minute would overflow.
        DeprovisioningBrake.objects.filter(pk=integration.pk).update(window_minutes=2_000_000_000)
        assert [deactivate(client, u).status_code for u in users[:3]] == [200] * 3

    def test_bursts_cannot_be_deleted(self, admin_client, paused):
        integration, *_rest = paused
        burst = DeprovisioningBurst.objects.get(integration=integration)
        assert admin_client.get(reverse("admin:scim_portal_deprovisioningburst_delete", args=[burst.pk])
                                ).status_code == 403
        changelist = reverse("admin:scim_portal_deprovisioningburst_changelist")
        admin_client.post(changelist, {"action": "delete_selected", "_selected_action": [burst.pk], "post": "yes"})
        assert DeprovisioningBurst.objects.filter(pk=burst.pk).exists()
        assert HeldRequest.objects.filter(burst=burst).count() == 3
        assert DeprovisioningBrake.objects.get(pk=integration.pk).paused_by_id == burst.pk

    def test_a_paused_brake_cannot_be_deleted(self, admin_client, two_brakes):
        own, other = two_brakes
        assert admin_client.get(reverse("admin:scim_portal_deprovisioningbrake_delete", args=[own.pk])
                                ).status_code == 403
        changelist = reverse("admin:scim_portal_deprovisioningbrake_changelist")
        admin_client.post(changelist, {"action": "delete_selected", "_selected_action": [own.pk, other.pk],
                                       "post": "yes"})
        assert DeprovisioningBrake.objects.filter(pk=own.pk, paused_by__isnull=False).exists()
        assert admin_client.get(reverse("admin:scim_portal_deprovisioningbrake_delete", args=[other.pk])
                                ).status_code == 200

    def test_saving_a_burst_in_the_admin_writes_nothing(self, admin_client, paused, admin_user):
        integration, *_rest = paused
        burst = DeprovisioningBurst.objects.get(integration=integration)
        before = burst.history.count()
        response = admin_client.post(reverse("admin:scim_portal_deprovisioningburst_change", args=[burst.pk]), {})
        assert response.status_code == 302
        assert burst.history.count() == before

    def test_decide_needs_the_csrf_token(self, paused, admin_user):
        integration, *_rest = paused
        burst = DeprovisioningBurst.objects.get(integration=integration)
        client = Client(enforce_csrf_checks=True)
        client.force_login(admin_user)
        page = client.get(reverse("admin:scim_portal_deprovisioningburst_change", args=[burst.pk])).content.decode()
        form = page[page.index('id="decide-form"'):]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        decide = reverse("admin:scim_portal_deprovisioningburst_decide", args=[burst.pk])
        assert client.post(decide, {"decision": "released"}).status_code == 403
        burst.refresh_from_db()
        assert burst.status == BurstStatus.PAUSED
        assert client.post(decide, {"decision": "released", "csrfmiddlewaretoken": token}).status_code == 302
        burst.refresh_from_db()
        assert burst.status == BurstStatus.RELEASED

    def test_a_viewer_cannot_decide(self, paused):
        integration, *_rest = paused
        burst = DeprovisioningBurst.objects.get(integration=integration)
        viewer = get_user_model().objects.create_user(
            **{get_user_model().USERNAME_FIELD: "viewer@example.com", "email": "viewer@example.com"},
            is_staff=True)
        viewer.user_permissions.add(Permission.objects.get(codename="view_deprovisioningburst"))
        client = Client()
        client.force_login(viewer)
        change = reverse("admin:scim_portal_deprovisioningburst_change", args=[burst.pk])
        page = client.get(change)
        assert page.status_code == 200 and b"decide-released" not in page.content
        decide = reverse("admin:scim_portal_deprovisioningburst_decide", args=[burst.pk])
        assert client.post(decide, {"decision": "released"}).status_code == 403
        burst.refresh_from_db()
        assert burst.status == BurstStatus.PAUSED
        assert DeprovisioningBrake.objects.get(pk=integration.pk).paused_by_id == burst.pk
