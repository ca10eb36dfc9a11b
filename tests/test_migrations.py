"""Index migrations run both ways on both databases (CONCURRENTLY on PostgreSQL)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from scim_portal.models import ScimUser

pytestmark = pytest.mark.django_db(transaction=True)


def user_indexes() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, ScimUser._meta.db_table))


def test_page_index_migrations_go_back_and_forth():
    assert "scim_user_live_page" in user_indexes()
    assert "scim_user_integration_page" not in user_indexes()
    try:
        call_command("migrate", "scim_portal", "0005", verbosity=0)
        assert "scim_user_integration_page" in user_indexes()
        assert "scim_user_live_page" not in user_indexes()
    finally:
        call_command("migrate", "scim_portal", verbosity=0)
    assert {"scim_user_live_page"} <= user_indexes()
    assert "scim_user_integration_page" not in user_indexes()
