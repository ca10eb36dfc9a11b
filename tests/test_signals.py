"""Signals: sent once per change, only after the change committed, never for a
failed request; ``provisioning_failed`` for a request that failed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.dispatch import Signal

from scim_portal import signals
from scim_portal.models import Deprovisioning, IdentityProvider, ProvisioningLog, ScimGroup, ScimUser
from tests.test_audit import GROUP, okta_user, patch

pytestmark = pytest.mark.django_db

ALL = {
    name: getattr(signals, name) for name in (
        "user_provisioned", "user_updated", "user_deactivated", "user_reactivated", "user_deleted",
        "group_created", "group_updated", "group_deleted", "group_membership_changed", "provisioning_failed",
    )
}


class Recorder:
    """Every signal of scim_portal, in the order received, with its keyword arguments."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.receivers = {}
        for name, signal in ALL.items():
            def receiver(sender: Any, signal: Signal, _name: str = name, **kwargs: Any) -> None:
                kwargs["sender"] = sender
                kwargs["in_atomic_block"] = connection.in_atomic_block
                self.calls.append((_name, kwargs))

            self.receivers[name] = receiver
            signal.connect(receiver, weak=False)

    def disconnect(self) -> None:
        for name, signal in ALL.items():
            signal.disconnect(self.receivers[name])

    @property
    def names(self) -> list[str]:
        return [name for name, _kwargs in self.calls]

    def only(self, name: str) -> dict[str, Any]:
        (kwargs,) = [k for n, k in self.calls if n == name]
        return kwargs

    def clear(self) -> None:
        self.calls.clear()


@pytest.fixture
def received() -> Iterator[Recorder]:
    recorder = Recorder()
    yield recorder
    recorder.disconnect()


def create_user(scim, email: str = "alice@example.com", **extra) -> str:
    response = scim.post("Users", okta_user(email, **extra))
    assert response.status_code == 201, response.json_body
    return response.json_body["id"]


# -- users ------------------------------------------------------------------------------------------

def test_user_provisioned_is_sent_once_after_commit(scim, integration, received,
                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = scim.post("Users", okta_user())
        assert response.status_code == 201
        assert received.names == []  # nothing before the transaction commits
    assert len(callbacks) == 1
    assert received.names == ["user_provisioned"]
    payload = received.only("user_provisioned")
    scim_user = ScimUser.objects.get(scim_id=response.json_body["id"])
    assert payload["sender"] is ScimUser
    assert payload["integration"] == integration
    assert payload["actor"] == integration.service_account
    assert payload["request_id"] == response["X-Request-ID"]
    assert payload["user"] == scim_user.user
    assert payload["scim_user"] == scim_user
    assert payload["user_id"] == scim_user.user_id
    assert payload["linked"] is False


def test_put_sends_user_updated_with_the_changed_fields(scim, received, django_capture_on_commit_callbacks):
    scim_id = create_user(scim)
    received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = scim.put(f"Users/{scim_id}", okta_user(name={"givenName": "Alicia", "familyName": "Archer"}))
        assert response.status_code == 200
        assert received.names == []
    assert received.names == ["user_updated"]
    payload = received.only("user_updated")
    assert payload["changed"] == ["first_name"]
    assert payload["user"].first_name == "Alicia"
    assert payload["request_id"] == response["X-Request-ID"]


def test_deactivate_then_reactivate(scim, integration, received, django_capture_on_commit_callbacks):
    scim_id = create_user(scim)
    received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        off = scim.patch(f"Users/{scim_id}", patch({"op": "replace", "value": {"active": False}}))
    assert off.status_code == 200
    assert received.names == ["user_updated", "user_deactivated"]
    deactivated = received.only("user_deactivated")
    assert deactivated["user"].is_active is False
    assert deactivated["request_id"] == off["X-Request-ID"]
    assert deactivated["scim_user"].scim_id == ScimUser.objects.get(scim_id=scim_id).scim_id

    received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        on = scim.patch(f"Users/{scim_id}", patch({"op": "replace", "path": "active", "value": True}))
    assert on.status_code == 200
    assert received.names == ["user_updated", "user_reactivated"]
    assert received.only("user_reactivated")["user"].is_active is True
    assert received.only("user_reactivated")["integration"] == integration


def test_patch_that_changes_nothing_sends_nothing(scim, received, django_capture_on_commit_callbacks):
    scim_id = create_user(scim)
    received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = scim.patch(f"Users/{scim_id}", patch({"op": "replace", "path": "active", "value": True}))
    assert response.status_code == 200
    assert received.names == []


def test_delete_sends_user_deleted(scim, received, django_capture_on_commit_callbacks):
    scim_id = create_user(scim)
    user = ScimUser.objects.get(scim_id=scim_id).user
    received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = scim.delete(f"Users/{scim_id}")
    assert response.status_code == 204
    assert received.names == ["user_deleted"]
    payload = received.only("user_deleted")
    assert payload["user"].pk == user.pk
    assert payload["scim_user"].deleted_at is not None
    assert payload["request_id"] == response["X-Request-ID"]


def test_delete_policy_tells_which_user_was_deleted(make_integration, scim_for, received,
                                                    django_capture_on_commit_callbacks):
    scim = scim_for(make_integration(IdentityProvider.ENTRA, deprovisioning=Deprovisioning.DELETE))
    scim_id = create_user(scim)
    user_pk = ScimUser.objects.get(scim_id=scim_id).user_id
    received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert scim.delete(f"Users/{scim_id}").status_code == 204
    payload = received.only("user_deleted")
    assert not get_user_model().objects.filter(pk=user_pk).exists()
    assert payload["user_id"] == user_pk
    assert payload["user"].email == "alice@example.com"


# -- groups -----------------------------------------------------------------------------------------

def test_group_lifecycle_signals(scim, integration, received, django_capture_on_commit_callbacks):
    alice_id, bob_id = create_user(scim, "alice@example.com"), create_user(scim, "bob@example.com")
    alice, bob = (ScimUser.objects.get(scim_id=i).user for i in (alice_id, bob_id))
    received.clear()

    with django_capture_on_commit_callbacks(execute=True):
        created = scim.post("Groups", {"schemas": [GROUP], "displayName": "Sales",
                                       "members": [{"value": alice_id}]})
    assert created.status_code == 201
    assert received.names == ["group_created", "group_membership_changed"]
    group = ScimGroup.objects.get(scim_id=created.json_body["id"])
    assert received.only("group_created")["group"] == group.group
    assert received.only("group_created")["scim_group"] == group
    membership = received.only("group_membership_changed")
    assert (membership["added"], membership["removed"]) == ([alice.pk], [])
    assert membership["request_id"] == created["X-Request-ID"]

    received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        changed = scim.patch(f"Groups/{group.scim_id}", patch(
            {"op": "add", "path": "members", "value": [{"value": bob_id}]},
            {"op": "remove", "path": f'members[value eq "{alice_id}"]'},
        ))
    assert changed.status_code == 204
    assert received.names == ["group_updated", "group_membership_changed"]
    membership = received.only("group_membership_changed")
    assert (membership["added"], membership["removed"]) == ([bob.pk], [alice.pk])

    received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        renamed = scim.patch(f"Groups/{group.scim_id}", patch(
            {"op": "replace", "path": "displayName", "value": "Sales EMEA"}))
    assert renamed.status_code == 204
    assert received.names == ["group_updated"]
    assert received.only("group_updated")["group"].name == "Sales EMEA"

    group_pk = group.group_id
    received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        deleted = scim.delete(f"Groups/{group.scim_id}")
    assert deleted.status_code == 204
    assert received.names == ["group_deleted"]
    payload = received.only("group_deleted")
    assert payload["group_id"] == group_pk
    assert payload["group"].name == "Sales EMEA"
    assert not Group.objects.filter(pk=group_pk).exists()


# -- failures ----------------------------------------------------------------------------------------

def test_failed_requests_send_no_change_signal_but_provisioning_failed(scim, integration, received,
                                                                      django_capture_on_commit_callbacks):
    scim_id = create_user(scim)
    received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        conflict = scim.post("Users", okta_user())
        bad_patch = scim.patch(f"Users/{scim_id}", patch(
            {"op": "replace", "path": "name.givenName", "value": "Never"},
            {"op": "explode", "path": "title"},
        ))
        missing = scim.get("Users/00000000-0000-0000-0000-000000000000")
    assert (conflict.status_code, bad_patch.status_code, missing.status_code) == (409, 400, 404)
    assert received.names == ["provisioning_failed"] * 3

    first = received.calls[0][1]
    assert first["integration"] == integration
    assert first["actor"] == integration.service_account
    assert first["request_id"] == conflict["X-Request-ID"]
    assert first["status"] == 409
    assert first["scim_type"] == "uniqueness"
    assert first["detail"] == conflict.json_body["detail"]
    assert first["log_entry"] == ProvisioningLog.objects.get(request_id=conflict["X-Request-ID"])
    assert [kwargs["status"] for _n, kwargs in received.calls] == [409, 400, 404]
    assert received.calls[1][1]["request_id"] == bad_patch["X-Request-ID"]


def test_no_signal_for_a_rolled_back_group_change(scim, received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = scim.post("Groups", {"schemas": [GROUP], "displayName": "Ghosts",
                                        "members": [{"value": "00000000-0000-0000-0000-000000000000"}]})
    assert response.status_code == 400
    assert received.names == ["provisioning_failed"]


def test_unauthenticated_requests_send_no_signal(received, django_capture_on_commit_callbacks):
    from tests.conftest import ScimClient

    with django_capture_on_commit_callbacks(execute=True):
        assert ScimClient("scim_wrong").get("Users").status_code == 401
    assert received.names == []


def test_provisioning_failed_carries_no_entry_when_logging_is_off(scim, received, settings,
                                                                  django_capture_on_commit_callbacks):
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "LOG_REQUESTS": False}
    with django_capture_on_commit_callbacks(execute=True):
        response = scim.get("Users/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert received.only("provisioning_failed")["log_entry"] is None
    assert received.only("provisioning_failed")["request_id"] == response["X-Request-ID"]


# -- really committed (no test transaction) -----------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_receivers_run_outside_the_transaction_and_see_committed_rows(make_integration, scim_for, received):
    scim = scim_for(make_integration())
    seen: list[bool] = []

    def check(sender: Any, user: Any, **kwargs: Any) -> None:
        # A receiver that hands work to another process (a task queue) must find the row there.
        seen.append(get_user_model().objects.filter(pk=user.pk).exists())

    signals.user_provisioned.connect(check)
    try:
        response = scim.post("Users", okta_user())
        conflict = scim.post("Users", okta_user())
    finally:
        signals.user_provisioned.disconnect(check)
    assert (response.status_code, conflict.status_code) == (201, 409)
    assert received.names == ["user_provisioned", "provisioning_failed"]
    assert seen == [True]
    assert all(kwargs["in_atomic_block"] is False for _name, kwargs in received.calls)


@pytest.mark.django_db(transaction=True)
def test_a_failing_receiver_does_not_fail_the_committed_change(make_integration, scim_for, caplog):
    scim = scim_for(make_integration())
    later: list[str] = []

    def broken(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("receiver bug")

    def sound(sender: Any, user: Any, **kwargs: Any) -> None:
        later.append(user.email)

    signals.user_provisioned.connect(broken)
    signals.user_provisioned.connect(sound)
    try:
        response = scim.post("Users", okta_user())
    finally:
        signals.user_provisioned.disconnect(broken)
        signals.user_provisioned.disconnect(sound)
    # The IdP hears about the committed create, not about our receiver's bug (no retry, no 409 loop).
    assert response.status_code == 201
    assert later == ["alice@example.com"]
    assert get_user_model().objects.filter(email="alice@example.com").exists()
    assert any("receiver bug" in (r.exc_text or "") or r.exc_info for r in caplog.records
               if r.name == "scim_portal.signals")


# -- one place: the request's log row, then its signals ------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_a_requests_signals_follow_its_log_row(make_integration, scim_for):
    """A receiver can find the log row of the request that made the change (``request_id``):
    the answer, its log row and its signals are finished in one place, in that order."""
    scim = scim_for(make_integration())
    seen: list[tuple[str, bool]] = []

    def check(sender: Any, signal: Signal, request_id: str, **kwargs: Any) -> None:
        logged = ProvisioningLog.objects.filter(request_id=request_id).first()
        seen.append((kwargs.get("status") or "change", logged is not None and (
            logged.user_id == kwargs["user_id"] if "user_id" in kwargs else logged.status >= 400)))

    for signal in (signals.user_provisioned, signals.user_updated, signals.provisioning_failed):
        signal.connect(check, weak=False)
    try:
        user_id = create_user(scim)
        assert scim.patch(f"Users/{user_id}", patch({"op": "replace", "path": "title", "value": "Boss"})
                          ).status_code == 200
        assert scim.post("Users", okta_user()).status_code == 409
    finally:
        for signal in (signals.user_provisioned, signals.user_updated, signals.provisioning_failed):
            signal.disconnect(check)
    assert seen == [("change", True), ("change", True), (409, True)]


def test_a_provisioner_outside_a_view_sends_its_signals_once_it_commits(integration, received,
                                                                        django_capture_on_commit_callbacks):
    from scim_portal.context import ScimContext
    from scim_portal.provisioning import Provisioner

    context = ScimContext(integration=integration, actor=integration.service_account, credential=None,
                          credential_label="job")
    with django_capture_on_commit_callbacks(execute=True):
        scim_user = Provisioner(context, "http://testserver/scim/v2", reason="Nightly import").create_user(
            okta_user("job@example.com"))
    assert received.names == ["user_provisioned"]
    assert received.only("user_provisioned")["scim_user"] == scim_user
    received.clear()
    # announce=False (what the API does): the signals owed wait in ``events`` for the caller.
    quiet = Provisioner(context, "http://testserver/scim/v2", announce=False)
    with django_capture_on_commit_callbacks(execute=True):
        quiet.patch_user(str(scim_user.scim_id), patch({"op": "replace", "path": "title", "value": "Boss"}))
    assert received.names == []
    assert [(event.signal, event.kwargs["user_id"]) for event in quiet.events] == [
        (signals.user_updated, scim_user.user_id)]
    # A write that fails owes nothing, and leaves nothing of an earlier write behind.
    with pytest.raises(Exception, match="not found"):
        quiet.patch_user("no-such-id", patch({"op": "replace", "path": "title", "value": "X"}))
    assert quiet.events == []
