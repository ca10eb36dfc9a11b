"""A property-based walk through the IdP's life with the portal, over the HTTP API.

Hypothesis drives a ``RuleBasedStateMachine`` through creates, PUTs, PATCHes in the
shapes Okta and Entra ID send (Okta ``replace`` with a value object, Entra's
capitalised ops and ``"False"`` strings, path forms), deactivation, reactivation,
DELETE, renames (case-only and look-alike ones too) and group membership changes.
After every step it checks what must always hold:

* SCIM ``active`` equals the host user's ``is_active`` (and the model's expectation);
* a person switched off cannot log in and holds no OAuth token and no session;
* one account per userName: one identity and one host user per person ever created;
* what a write answered is what a ``GET`` then returns.

Bounded (a few examples of at most 15 steps), so it runs in seconds on each database.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, precondition, rule
from oauth2_provider.models import AccessToken

from portal.models import UserSession
from scim_portal.models import ScimUser
from scim_portal.models.resources import fold
from tests.protocol import GROUP, PATCH_OP, USER

pytestmark = pytest.mark.django_db

#: No shrinking: a failure is reported as found, in seconds, instead of minutes of shrinking in CI.
NOSHRINK = [Phase.explicit, Phase.reuse, Phase.generate]

PASSWORD = "local-password-1"
PEOPLE = ["ann@example.com", "bob@example.com", "cy@example.com", "dee@example.com"]


def look_alike(name: str, form: int) -> str:
    """Another way an IdP (or a person typing into it) writes the same name."""
    return [
        name,
        name.upper(),
        name.capitalize(),
        f" {name} ",
        chr(ord(name[0]) - ord("a") + 0xFF41) + name[1:],  # fullwidth first letter
        name[:1] + "\u200b" + name[1:],  # zero-width space
    ][form]


def active_ops(active: bool, shape: int) -> list[dict[str, Any]]:
    """Okta's value object, Entra's capitalised op with a string, and path forms."""
    return [
        [{"op": "replace", "value": {"active": active}}],
        [{"op": "Replace", "path": "active", "value": "True" if active else "False"}],
        [{"op": "replace", "path": "active", "value": active}],
        [{"op": "replace", "path": f"{USER}:active", "value": active}],
        [{"op": "Add", "path": "active", "value": active}],
    ][shape]


def without_members(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k != "members"}


class ProvisioningMachine(RuleBasedStateMachine):
    """The model: each person (``PEOPLE`` index) has one SCIM id, a state and a name form."""

    groups = Bundle("groups")

    def __init__(self) -> None:
        super().__init__()
        self.savepoint = transaction.savepoint()
        self.scim = self.client()
        self.ids: dict[int, str] = {}  # person -> SCIM id (kept across DELETE and revival)
        self.active: dict[int, bool] = {}
        self.deleted: set[int] = set()
        self.members: dict[str, set[str]] = {}

    @staticmethod
    def client():
        from scim_portal.models import IdentityProvider, Integration, ScimToken
        from tests.conftest import ScimClient

        service = get_user_model().objects.create_user(email=f"svc-{uuid.uuid4().hex[:8]}@example.com")
        integration = Integration.objects.create(name="Okta", slug=f"okta-{uuid.uuid4().hex[:8]}",
                                                 provider=IdentityProvider.OKTA, service_account=service)
        return ScimClient(ScimToken.issue(integration).raw)

    def teardown(self) -> None:
        transaction.savepoint_rollback(self.savepoint)

    # -- helpers -----------------------------------------------------------------------
    def live(self, person: int) -> bool:
        return person in self.ids and person not in self.deleted

    def anyone_live(self) -> bool:
        return any(self.live(person) for person in self.ids)

    def pick(self, data) -> int:
        """One of the people the IdP has now (the rules below run only when there is one)."""
        return data.draw(st.sampled_from(sorted(p for p in self.ids if self.live(p))), label="person")

    def matches_get(self, path: str, answer: dict[str, Any]) -> None:
        """What a write answered is what a GET then returns (members aside when not sent)."""
        stored = self.scim.get(path).json_body
        if "members" not in answer:
            stored = without_members(stored)
        assert stored == answer

    def give_access(self, person: int) -> None:
        """A password, a browser session and an OAuth token: what deactivation must end."""
        user = get_user_model().objects.get(scim_identity__scim_id=self.ids[person])
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
        session = SessionStore()
        session.create()
        UserSession.objects.create(user=user, session_key=session.session_key)
        AccessToken.objects.create(user=user, token=f"at-{uuid.uuid4().hex}", scope="read",
                                   expires=timezone.now() + datetime.timedelta(hours=1))

    def after_user_write(self, person: int, response, wanted_active: bool) -> None:
        assert response.status_code == 200, response.json_body
        assert response.json_body["active"] is wanted_active
        was_active = self.active[person]
        self.active[person] = wanted_active
        self.matches_get(f"Users/{self.ids[person]}", response.json_body)
        if wanted_active and not was_active:
            self.give_access(person)

    # -- users ---------------------------------------------------------------------------
    @rule(person=st.integers(0, len(PEOPLE) - 1), form=st.integers(0, 5), active=st.booleans())
    def create(self, person: int, form: int, active: bool) -> None:
        body = {"schemas": [USER], "userName": look_alike(PEOPLE[person], form), "active": active,
                "name": {"givenName": "Given", "familyName": "Family"}}
        response = self.scim.post("Users", body)
        if self.live(person):
            assert response.status_code == 409, response.json_body
            assert response.json_body["scimType"] == "uniqueness"
            return
        assert response.status_code == 201, response.json_body
        if person in self.ids:  # the IdP deleted this person earlier: the same account returns
            assert response.json_body["id"] == self.ids[person]
        self.ids[person] = response.json_body["id"]
        self.deleted.discard(person)
        self.active[person] = active
        self.matches_get(f"Users/{self.ids[person]}", response.json_body)
        if active:
            self.give_access(person)

    @precondition(lambda self: self.anyone_live())
    @rule(data=st.data(), form=st.integers(0, 5), active=st.booleans())
    def put(self, data, form: int, active: bool) -> None:
        person = self.pick(data)
        body = {"schemas": [USER], "id": self.ids[person], "userName": look_alike(PEOPLE[person], form),
                "active": active, "name": {"givenName": "Put", "familyName": "Family"}}
        self.after_user_write(person, self.scim.put(f"Users/{self.ids[person]}", body), active)

    @precondition(lambda self: self.anyone_live())
    @rule(data=st.data(), active=st.booleans(), shape=st.integers(0, 4))
    def patch_active(self, data, active: bool, shape: int) -> None:
        person = self.pick(data)
        body = {"schemas": [PATCH_OP], "Operations": active_ops(active, shape)}
        self.after_user_write(person, self.scim.patch(f"Users/{self.ids[person]}", body), active)

    @precondition(lambda self: self.anyone_live())
    @rule(data=st.data(), form=st.integers(0, 5), entra=st.booleans())
    def rename_to_own_form(self, data, form: int, entra: bool) -> None:
        """Case-only and look-alike renames keep the account."""
        person = self.pick(data)
        name = look_alike(PEOPLE[person], form)
        operation = ({"op": "Replace", "path": "userName", "value": name} if entra
                     else {"op": "replace", "value": {"userName": name}})
        response = self.scim.patch(f"Users/{self.ids[person]}", {"schemas": [PATCH_OP], "Operations": [operation]})
        self.after_user_write(person, response, self.active[person])
        assert response.json_body["userName"] == name

    @precondition(lambda self: self.anyone_live())
    @rule(data=st.data(), other=st.integers(0, len(PEOPLE) - 1), form=st.integers(0, 5))
    def rename_to_someone_else(self, data, other: int, form: int) -> None:
        """A rename into another person's name (in any form) is 409 and changes nothing;
        into a name nobody holds, it is a rename (the model then calls the account ``other``)."""
        person = self.pick(data)
        if person == other:
            return
        before = self.scim.get(f"Users/{self.ids[person]}").json_body
        operation = {"op": "replace", "path": "userName", "value": look_alike(PEOPLE[other], form)}
        response = self.scim.patch(f"Users/{self.ids[person]}", {"schemas": [PATCH_OP], "Operations": [operation]})
        if other in self.ids:  # a deleted account still holds its name (it can be revived)
            assert response.status_code == 409, response.json_body
            assert self.scim.get(f"Users/{self.ids[person]}").json_body == before
        else:
            # Nobody holds the name: the rename goes through; the model follows the swap.
            assert response.status_code == 200, response.json_body
            self.swap(person, other)
            self.matches_get(f"Users/{self.ids[other]}", response.json_body)

    def swap(self, person: int, other: int) -> None:
        self.ids[other] = self.ids.pop(person)
        self.active[other] = self.active.pop(person)

    @precondition(lambda self: self.anyone_live())
    @rule(data=st.data())
    def delete(self, data) -> None:
        person = self.pick(data)
        response = self.scim.delete(f"Users/{self.ids[person]}")
        assert response.status_code == 204
        assert self.scim.get(f"Users/{self.ids[person]}").status_code == 404
        self.deleted.add(person)
        self.active[person] = False

    # -- groups --------------------------------------------------------------------------
    @precondition(lambda self: len(self.members) < 2)
    @rule(target=groups, name=st.sampled_from(["Red", "Blue"]), suffix=st.integers(0, 10_000))
    def create_group(self, name: str, suffix: int):
        response = self.scim.post("Groups", {"schemas": [GROUP], "displayName": f"{name} {suffix}"})
        if response.status_code == 409:
            return multiple()
        assert response.status_code == 201, response.json_body
        self.members[response.json_body["id"]] = set()
        return response.json_body["id"]

    @precondition(lambda self: self.anyone_live())
    @rule(group=groups, data=st.data(), add=st.booleans(), entra=st.booleans())
    def membership(self, group: str, data, add: bool, entra: bool) -> None:
        person = self.pick(data)
        member = self.ids[person]
        if add:
            operation = {"op": "Add" if entra else "add", "path": "members", "value": [{"value": member}]}
        elif entra:
            operation = {"op": "Remove", "path": "members", "value": [{"value": member}]}
        else:
            operation = {"op": "remove", "path": f'members[value eq "{member}"]'}
        response = self.scim.patch(f"Groups/{group}", {"schemas": [PATCH_OP], "Operations": [operation]})
        # 204 No Content (RFC 7644 3.5.2): what was stored is the version the ETag names.
        assert response.status_code == 204, response.json_body
        (self.members[group].add if add else self.members[group].discard)(member)
        assert response["ETag"] == self.scim.get(f"Groups/{group}").json_body["meta"]["version"]

    @invariant()
    def groups_list_their_live_members(self) -> None:
        """A member the IdP deleted is not listed (and is again once the IdP creates it again)."""
        live = {self.ids[person] for person in self.ids if self.live(person)}
        for group, members in self.members.items():
            stored = self.scim.get(f"Groups/{group}").json_body
            assert {m["value"] for m in stored.get("members", [])} == members & live

    # -- what always holds ---------------------------------------------------------------
    @invariant()
    def scim_active_is_the_host_flag(self) -> None:
        for person, scim_id in self.ids.items():
            identity = ScimUser.objects.select_related("user").get(scim_id=scim_id)
            assert identity.user.is_active is self.active[person]
            assert (identity.deactivated_at is None) is self.active[person]
            if self.live(person):
                assert self.scim.get(f"Users/{scim_id}").json_body["active"] is self.active[person]

    @invariant()
    def switched_off_means_no_access(self) -> None:
        for person, scim_id in self.ids.items():
            user = get_user_model().objects.get(scim_identity__scim_id=scim_id)
            login = getattr(user, get_user_model().USERNAME_FIELD)
            if self.active[person]:
                assert authenticate(username=login, password=PASSWORD) == user
                continue
            assert authenticate(username=login, password=PASSWORD) is None
            assert not AccessToken.objects.filter(user=user).exists()
            assert not UserSession.objects.filter(user=user).exists()

    @invariant()
    def one_account_per_person(self) -> None:
        assert ScimUser.objects.count() == len(self.ids)
        assert get_user_model().objects.count() == len(self.ids) + 1  # and the service account
        keys = list(ScimUser.objects.values_list("user_name_key", flat=True))
        assert len(keys) == len(set(keys))
        assert sorted(keys) == sorted(fold(PEOPLE[person]) for person in self.ids)


def test_provisioning_state_machine():
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(ProvisioningMachine, settings=settings(
        max_examples=6, stateful_step_count=15, deadline=None, derandomize=True, phases=NOSHRINK,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    ))
