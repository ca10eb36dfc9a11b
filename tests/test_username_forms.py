"""One account per person, even when names only look alike (fold: NFKC, no Cf, trimmed, casefold).

A second create of a look-alike userName answers 409, ``userName eq`` finds the one
account whichever form it is given, the form the IdP sent is what reads back, and
names of different scripts (Latin ``a``, Cyrillic ``a``) stay two accounts.
"""

from __future__ import annotations

import importlib
import unicodedata

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model

from scim_portal.models import ScimGroup, ScimUser
from scim_portal.models.resources import fold
from tests.protocol import GROUP, assert_error, create_user, patch_body, user_body

pytestmark = pytest.mark.django_db

refold_migration = importlib.import_module("scim_portal.migrations.0009_fold_lookalike_names")

NFC_JOSE = unicodedata.normalize("NFC", "jos\u00e9@example.com")
NFD_JOSE = unicodedata.normalize("NFD", NFC_JOSE)

#: (first form, look-alike form): one account each pair.
LOOKALIKES = [
    pytest.param("alice@example.com", "\uff21lice@example.com", id="fullwidth"),
    pytest.param("alice@example.com", " alice@example.com ", id="surrounding-spaces"),
    pytest.param(NFC_JOSE, NFD_JOSE, id="nfc-then-nfd"),
    pytest.param(NFD_JOSE, NFC_JOSE, id="nfd-then-nfc"),
    pytest.param("alice@example.com", "ali\u200bce@example.com", id="zero-width-space"),
    pytest.param("alice@example.com", "\u200ealice@example.com\ufeff", id="direction-mark-and-bom"),
    pytest.param("alice@example.com", "ALICE@EXAMPLE.COM", id="case"),
]


def find(scim, user_name: str) -> list[str]:
    escaped = user_name.replace("\\", "\\\\").replace('"', '\\"')
    response = scim.get(f'Users?filter=userName eq "{escaped}"')
    assert response.status_code == 200, response.json_body
    return [resource["id"] for resource in response.json_body["Resources"]]


@pytest.mark.parametrize(("first", "second"), LOOKALIKES)
def test_a_lookalike_create_is_409_and_the_filter_finds_the_one_account(scim, first, second):
    assert first != second
    created = create_user(scim, first)
    assert_error(scim.post("Users", user_body(second)), 409, "uniqueness")
    assert ScimUser.objects.count() == 1
    assert get_user_model().objects.filter(scim_identity__isnull=False).count() == 1
    assert find(scim, second) == [created["id"]]
    assert find(scim, first) == [created["id"]]


def test_the_form_the_idp_sent_is_what_reads_back(scim):
    created = create_user(scim, " \uff22ob@example.com ")
    assert created["userName"] == " \uff22ob@example.com "
    assert scim.get(f"Users/{created['id']}").json_body["userName"] == " \uff22ob@example.com "
    assert ScimUser.objects.get().user_name_key == "bob@example.com"


def test_scripts_stay_distinct(scim):
    latin = create_user(scim, "alice@example.com")
    cyrillic = create_user(scim, "\u0430lice@example.com")  # Cyrillic a: another person's name
    assert latin["id"] != cyrillic["id"]
    assert find(scim, "\u0430lice@example.com") == [cyrillic["id"]]


def test_renaming_to_another_accounts_lookalike_is_409(scim):
    create_user(scim, "alice@example.com")
    bob = create_user(scim, "bob@example.com")
    rename = patch_body({"op": "replace", "path": "userName", "value": "\uff41lice@example.com"})
    assert_error(scim.patch(f"Users/{bob['id']}", rename), 409, "uniqueness")
    assert ScimUser.objects.get(scim_id=bob["id"]).user_name == "bob@example.com"


def test_renaming_to_ones_own_lookalike_keeps_the_account(scim):
    alice = create_user(scim, "alice@example.com")
    rename = patch_body({"op": "replace", "path": "userName", "value": "\uff21lice@example.com"})
    answer = scim.patch(f"Users/{alice['id']}", rename)
    assert answer.status_code == 200 and answer.json_body["userName"] == "\uff21lice@example.com"
    assert find(scim, "alice@example.com") == [alice["id"]]


@pytest.mark.parametrize("blank", [" ", "\u200b", " \u200d\ufeff "])
def test_a_user_name_of_nothing_visible_is_400(scim, blank):
    assert_error(scim.post("Users", user_body("x@example.com", userName=blank)), 400, "invalidValue")
    assert ScimUser.objects.count() == 0


def test_lookalike_group_names_are_one_group(scim):
    assert scim.post("Groups", {"schemas": [GROUP], "displayName": "Engineering"}).status_code == 201
    assert_error(scim.post("Groups", {"schemas": [GROUP], "displayName": " \uff25ngineering\u200b"}),
                 409, "uniqueness")
    found = scim.request("GET", 'Groups?filter=displayName eq "\uff45ngineering"').json_body
    assert found["totalResults"] == 1


def test_fold_is_idempotent_on_the_tricky_forms():
    for value in ["\uff21lice", NFD_JOSE, "a\u200bb", " x ", "Stra\u00dfe", "\u1e9e", "\u0345"]:
        assert fold(fold(value)) == fold(value)


def test_the_migration_recomputes_keys_and_leaves_colliding_accounts_apart(scim, caplog):
    older = create_user(scim, "carol@example.com")
    younger = create_user(scim, "dave@example.com")
    group = scim.post("Groups", {"schemas": [GROUP], "displayName": "Ops"}).json_body
    # As the old fold (casefold only) stored them, before look-alikes were one account:
    ScimUser.objects.filter(scim_id=older["id"]).update(user_name="\uff43arol@example.com",
                                                        user_name_key="\uff43arol@example.com",
                                                        email_key=" carol@example.com")
    ScimUser.objects.filter(scim_id=younger["id"]).update(user_name="carol@example.com\u200b",
                                                          user_name_key="carol@example.com\u200b")
    ScimGroup.objects.filter(scim_id=group["id"]).update(display_name=" Ops", display_name_key=" ops")

    refold_migration.refold(apps, None)

    keys = dict(ScimUser.objects.values_list("scim_id", "user_name_key"))
    assert {str(k): v for k, v in keys.items()} == {older["id"]: "carol@example.com",
                                                    younger["id"]: "carol@example.com\u200b"}
    assert ScimUser.objects.get(scim_id=older["id"]).email_key == "carol@example.com"
    assert ScimGroup.objects.get(scim_id=group["id"]).display_name_key == "ops"
    assert "folds to the key of an older account" in caplog.text
    assert find(scim, "carol@example.com") == [older["id"]]
    assert scim.get(f"Users/{younger['id']}").status_code == 200


def test_the_migration_never_takes_a_key_twice():
    new_keys = refold_migration.new_keys
    # "Eve" keeps "eve"; the fullwidth and zero-width rows cannot take it and keep theirs.
    rows = [(1, None, "\uff45ve", "\uff45ve"), (2, None, "eve", "eve\u200b"), (3, None, "Eve", "eve")]
    assert new_keys(rows, "user") == {}
    assert new_keys([(1, None, "\uff45ve", "\uff45ve"), (2, None, "EVE", "\uff45ve\u200b")],
                    "user") == {1: "eve"}
    # Row 2's old key became row 0's new key: it is parked on a key no name folds to.
    rows = [(0, None, "e", "E"), (1, None, "d", "dd"), (2, None, "d", "e")]
    assert new_keys(rows, "user") == {0: "e", 1: "d", 2: "\t~refold~2"}
    # Group keys are unique per integration: the same key in two integrations is no collision.
    assert new_keys([(1, 7, " Ops", " ops"), (2, 8, "ops ", "ops ")], "group") == {1: "ops", 2: "ops"}
