"""The credential lookup every request runs: its SQL is built once, its answers are the ORM's."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from scim_portal.api.authentication import TOKEN_LOOKUP
from scim_portal.models import ScimToken
from scim_portal.models.query import PreparedLookup
from scim_portal.models.tokens import hash_token

pytestmark = pytest.mark.django_db


def test_it_answers_what_the_queryset_answers(integration, token):
    stored = ScimToken.objects.select_related("integration").get(digest=hash_token(token))
    found = TOKEN_LOOKUP.get(hash_token(token))
    fields = [f.attname for f in ScimToken._meta.concrete_fields]
    assert [getattr(found, f) for f in fields] == [getattr(stored, f) for f in fields]
    assert found._state.db == stored._state.db and not found._state.adding
    with CaptureQueriesContext(connection) as ctx:
        assert found.integration == integration and found.integration.name == integration.name
        assert found.integration.provider == integration.provider
    assert ctx.captured_queries == []  # the integration came with the token, in one query
    assert TOKEN_LOOKUP.get(hash_token("no such token")) is None


def test_the_sql_is_built_once_and_each_call_reads_the_row_anew(integration, token, monkeypatch):
    lookup = PreparedLookup(lambda digest: ScimToken.objects.select_related("integration").filter(digest=digest))
    built = []
    original = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda self, *a, **kw: built.append(1) or original(self, *a, **kw))
    assert lookup.get(hash_token(token)).revoked_at is None
    ScimToken.objects.filter(digest=hash_token(token)).update(revoked_at=timezone.now())
    assert built == [1]  # the UPDATE is an SQLUpdateCompiler's
    with CaptureQueriesContext(connection) as ctx:
        assert lookup.get(hash_token(token)).revoked_at is not None  # no stale row: the database is read
    assert len(ctx.captured_queries) == 1 and built == [1]


def test_a_revoked_token_is_refused_on_the_next_request(scim, token):
    assert scim.get("Users").status_code == 200
    ScimToken.objects.filter(digest=hash_token(token)).update(revoked_at=timezone.now())
    assert scim.get("Users").status_code == 401


def test_a_queryset_that_does_not_use_its_value_once_is_refused(integration):
    lookup = PreparedLookup(lambda digest: ScimToken.objects.filter(prefix="x"))
    with pytest.raises(ValueError, match="exactly once"):
        lookup.get("anything")
