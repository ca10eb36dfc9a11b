"""Races on a real PostgreSQL: IdP workers sending the same create at once."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from scim_portal.models import ScimUser
from tests.conftest import parallel_posts

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WORKERS = 8


def user_body(user_name: str) -> dict:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": "Race", "familyName": "Condition"},
        "emails": [{"value": user_name.lower(), "type": "work", "primary": True}],
        "active": True,
    }


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent inserts are tested on PostgreSQL")


def test_eight_parallel_creates_make_one_account(token):
    statuses = parallel_posts(token, [user_body("racer@example.com") for _ in range(WORKERS)])
    assert sorted(statuses) == [201] + [409] * (WORKERS - 1)
    assert get_user_model().objects.filter(email__iexact="racer@example.com").count() == 1
    assert ScimUser.objects.filter(user_name_key="racer@example.com").count() == 1


def test_parallel_creates_differing_in_case_make_one_account(token):
    names = [f"{'RACER' if i % 2 else 'racer'}{'@EXAMPLE.com' if i % 3 else '@example.com'}"
             for i in range(WORKERS)]
    statuses = parallel_posts(token, [user_body(n) for n in names])
    assert statuses.count(201) == 1 and statuses.count(409) == WORKERS - 1
    assert ScimUser.objects.count() == 1
