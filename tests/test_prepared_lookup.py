"""The credential lookup every request runs: its SQL is built once, its answers are the ORM's."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.models import signals
from django.db.models.sql.compiler import SQLCompiler, SQLInsertCompiler
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from scim_portal.adapter import ScimAdapter
from scim_portal.api.authentication import TOKEN_LOOKUP
from scim_portal.models import ScimToken, ScimUser
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
    with pytest.raises(ValueError, match="must use each of its values"):
        lookup.get("anything")


# -- the resource every read and write of one user or group starts from ---------------------
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def test_the_lookup_of_a_user_answers_what_the_orm_answers(integration, make_integration):
    from scim_portal.resources import UserService
    from tests.factories import bulk_users

    wanted = bulk_users(integration, 3)[1]
    stored = ScimUser.objects.select_related("user").get(pk=wanted.pk)
    for for_update in (False, True):
        with transaction.atomic():
            found = UserService.lookups[for_update].get(integration.pk, str(wanted.scim_id))
        fields = [f.attname for f in ScimUser._meta.concrete_fields]
        assert [getattr(found, f) for f in fields] == [getattr(stored, f) for f in fields]
        assert found.user.email == stored.user.email and found.user.pk == stored.user_id
    # Another integration's id, a deleted one and an unknown one are not found.
    other = bulk_users(make_integration(), 1, prefix="other")[0]
    ScimUser.objects.filter(pk=wanted.pk).update(deleted_at=timezone.now())
    for key in (str(other.scim_id), str(wanted.scim_id), "no-such-id"):
        assert UserService.lookups[False].get(integration.pk, key) is None


def test_the_lock_is_taken_with_sql_built_once(scim, integration, monkeypatch):
    from tests.factories import bulk_users

    users = bulk_users(integration, 3)
    body = lambda i: {"schemas": [PATCH_OP], "Operations": [  # noqa: E731
        {"op": "replace", "path": "name.givenName", "value": f"G{i}"}]}
    assert scim.patch(f"Users/{users[0].scim_id}", body(0)).status_code == 200  # built here, if not before
    built = []
    original = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda self, *a, **kw: built.append(self.query.model) or original(
        self, *a, **kw))
    with CaptureQueriesContext(connection) as ctx:
        for i, user in enumerate(users):
            assert scim.patch(f"Users/{user.scim_id}", body(i)).status_code == 200
    locks = [q["sql"] for q in ctx.captured_queries if "FOR UPDATE" in q["sql"]]
    if connection.features.has_select_for_update:
        assert len(locks) == 3
    assert ScimUser not in built  # neither the lock nor the identity's UPDATE is built again
    assert [u.user.first_name for u in ScimUser.objects.select_related("user").order_by("pk")] == ["G0", "G1", "G2"]


def test_an_adapter_scope_is_applied_to_every_read_and_write(scim, integration, settings):
    from tests.factories import bulk_users

    visible = bulk_users(integration, 1, prefix="staff")[0]
    hidden = bulk_users(integration, 1, prefix="temp")[0]
    settings.SCIM_PORTAL = {"ADAPTER": "tests.test_prepared_lookup.StaffOnlyAdapter"}
    deactivate = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]}
    assert scim.get(f"Users/{visible.scim_id}").status_code == 200
    assert scim.get(f"Users/{hidden.scim_id}").status_code == 404
    assert scim.patch(f"Users/{hidden.scim_id}", deactivate).status_code == 404
    assert scim.delete(f"Users/{hidden.scim_id}").status_code == 404
    hidden.refresh_from_db()
    assert hidden.deactivated_at is None and hidden.deleted_at is None
    assert hidden.user.is_active
    assert scim.patch(f"Users/{visible.scim_id}", deactivate).status_code == 200


class StaffOnlyAdapter(ScimAdapter):
    def scope_users(self, queryset, integration):
        return queryset.filter(user__email__startswith="staff")


def test_the_prepared_update_writes_only_what_scim_writes_and_sends_the_save_signals(integration):
    from tests.factories import bulk_users

    scim_user = bulk_users(integration, 1)[0]
    seen = []

    def receiver(sender, instance, update_fields=None, **kwargs):
        seen.append((kwargs.get("signal"), instance.pk, update_fields))

    signals.pre_save.connect(receiver, sender=ScimUser, weak=False)
    signals.post_save.connect(receiver, sender=ScimUser, weak=False)
    try:
        stale = ScimUser.objects.get(pk=scim_user.pk)
        ScimUser.objects.filter(pk=scim_user.pk).update(created=timezone.now() - timezone.timedelta(days=3))
        stale.user_name = "Renamed@Example.com"
        stale.document = {**stale.document, "title": "Boss"}
        stale.bump()
        stale.save_changes()
    finally:
        signals.pre_save.disconnect(receiver, sender=ScimUser)
        signals.post_save.disconnect(receiver, sender=ScimUser)
    fresh = ScimUser.objects.get(pk=scim_user.pk)
    assert (fresh.user_name, fresh.user_name_key) == ("Renamed@Example.com", "renamed@example.com")
    assert fresh.document["title"] == "Boss" and fresh.version == 2
    assert fresh.created < stale.created  # a column SCIM writes never is left as stored
    assert [(s, pk) for s, pk, _ in seen] == [(signals.pre_save, fresh.pk), (signals.post_save, fresh.pk)]
    assert seen[0][2] == frozenset(ScimUser.CHANGED_BY_WRITES)


def test_the_log_row_is_inserted_as_the_orm_would(integration):
    from scim_portal import audit
    from scim_portal.models import ProvisioningLog

    entry = audit.write_log(integration=integration, credential="abc", dialect="okta", method="POST",
                            path="/scim/v2/Users", resource_type="User", resource_id="x", user_id=None,
                            status=201, scim_type="", detail="", duration_ms=4, request_id="r1",
                            request_body={"userName": "a", "password": "s3cret"}, response_body={"id": "x"},
                            subject="a", subject_key="a", email_key="")
    stored = ProvisioningLog.objects.get(pk=entry.pk)
    assert entry.pk is not None and not entry._state.adding
    assert (stored.status, stored.outcome, stored.request_id) == (201, "success", "r1")
    assert stored.request_body["userName"] == "a" and "s3cret" not in str(stored.request_body)
    assert stored.created == entry.created


def test_the_user_name_lookup_is_built_once_and_finds_what_the_filter_finds(scim, integration, make_integration,
                                                                             monkeypatch):
    from tests.factories import bulk_users

    users = bulk_users(integration, 3)
    bulk_users(make_integration(), 1, prefix="theirs")
    ScimUser.objects.filter(pk=users[2].pk).update(deleted_at=timezone.now())
    shapes = ['userName eq "USER0@example.com"', 'username EQ "user0@EXAMPLE.com"',
              'urn:ietf:params:scim:schemas:core:2.0:User:userName eq "user0@example.com"']
    assert scim.get(f"Users?filter={shapes[0]}").json_body["totalResults"] == 1  # built here, if not before
    built = []
    original = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda self, *a, **kw: built.append(self.query.model) or original(
        self, *a, **kw))
    for shape in shapes:
        page = scim.get(f"Users?filter={shape}").json_body
        assert (page["totalResults"], page["Resources"][0]["id"]) == (1, str(users[0].scim_id))
    for name in ("user2@example.com", "theirs0@example.com", "nobody@example.com"):  # deleted, another's, unknown
        page = scim.get(f'Users?filter=userName eq "{name}"').json_body
        assert (page["totalResults"], page["itemsPerPage"], page["Resources"]) == (0, 0, [])
    assert ScimUser not in built
    # Any other filter, or a page past the first, is searched as before (the ORM builds it).
    page = scim.get('Users?filter=userName eq "user1@example.com" and active eq true').json_body
    assert page["totalResults"] == 1 and ScimUser in built
    page = scim.get('Users?filter=userName eq "user1@example.com"&startIndex=2').json_body
    assert (page["totalResults"], page["Resources"]) == (1, [])
    page = scim.get('Users?filter=userName eq "user1@example.com"&count=0').json_body
    assert (page["totalResults"], page["Resources"]) == (1, [])


def test_an_adapter_scope_applies_to_the_user_name_lookup(scim, integration, settings):
    from tests.factories import bulk_users

    bulk_users(integration, 1, prefix="staff")
    bulk_users(integration, 1, prefix="temp")
    settings.SCIM_PORTAL = {"ADAPTER": "tests.test_prepared_lookup.StaffOnlyAdapter"}
    assert scim.get('Users?filter=userName eq "staff0@example.com"').json_body["totalResults"] == 1
    assert scim.get('Users?filter=userName eq "temp0@example.com"').json_body["totalResults"] == 0


def test_a_create_builds_no_select_and_reads_the_group_policy_anew(scim, integration, monkeypatch):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from scim_portal.models import Integration, ProvisioningLog

    def user(name: str) -> dict:
        return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
                "emails": [{"value": name, "primary": True}]}

    assert scim.post("Users", user("first@example.com")).status_code == 201  # built here, if not before
    staff = Group.objects.create(name="staff")
    integration.default_groups.add(staff)
    built, inserts = [], []
    original, original_insert = SQLCompiler.as_sql, SQLInsertCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda self, *a, **kw: built.append(self.query.model) or original(
        self, *a, **kw))
    monkeypatch.setattr(SQLInsertCompiler, "as_sql", lambda self, *a, **kw: inserts.append(
        self.query.model) or original_insert(self, *a, **kw))
    response = scim.post("Users", user("second@example.com"))
    assert response.status_code == 201
    assert list(get_user_model().objects.get(email="second@example.com").groups.all()) == [staff]
    # The userName check, the group policy (a UNION of default groups and group rules), the SCIM
    # identity's and the log row's INSERT: SQL built before (the host user's is the host's save()).
    assert ScimUser not in built and Integration.default_groups.through not in built
    assert ScimUser not in inserts and ProvisioningLog not in inserts and get_user_model() in inserts
    integration.default_groups.remove(staff)
    assert scim.post("Users", user("third@example.com")).status_code == 201
    assert not get_user_model().objects.get(email="third@example.com").groups.exists()  # read anew
    # A userName already taken (in any case) is still a conflict.
    assert scim.post("Users", user("FIRST@example.com")).status_code == 409
