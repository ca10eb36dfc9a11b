"""Database trouble is a 503 the IdP retries, never a 500 (issue #11 item 3), on PostgreSQL as
deployed: gunicorn (3 workers x 4 threads, DEBUG off, persistent connections) on a dedicated
cluster that is stopped under 8 writers and started again.  Every answer is a success or a 503
with ``Retry-After`` and a SCIM body, and the service recovers without a restart."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest
from django.db import connection

from tests.liveserver import Gunicorn, portal_env, prepare, request
from tests.pgcluster import start_cluster
from tests.protocol import ERROR, PATCH_OP, USER

WRITERS = 8


@pytest.fixture(scope="module")
def outage_cluster():
    if connection.vendor != "postgresql":
        pytest.skip("the outage test runs on PostgreSQL (SCIM_PORTAL_TEST_DB=postgres)")
    cluster = start_cluster()  # its own cluster: stopping it disturbs no other test
    cluster.createdb("outage")
    yield cluster
    cluster.stop()


class Writers:
    """Threads creating and deactivating users until stopped; every answer is kept."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.answers: list[tuple[float, int, dict[str, str], bytes]] = []
        self.running = True
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.write, args=(n,)) for n in range(WRITERS)]

    def write(self, n: int) -> None:
        i = 0
        while self.running:
            i += 1
            body = {"schemas": [USER], "userName": f"w{n}-{i}@example.com", "active": True,
                    "name": {"givenName": "W", "familyName": str(n)}}
            answer = request(self.port, "POST", "/scim/v2/Users", body, self.token)
            self.keep(answer)
            if answer[0] == 201:
                scim_id = json.loads(answer[2])["id"]
                patch = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]}
                self.keep(request(self.port, "PATCH", f"/scim/v2/Users/{scim_id}", patch, self.token))

    def wait_for(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.answers) < count and time.monotonic() < deadline:
            time.sleep(0.1)

    def keep(self, answer: tuple[int, dict[str, str], bytes]) -> None:
        with self.lock:
            self.answers.append((time.monotonic(), *answer))

    def __enter__(self) -> Writers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.running = False
        for thread in self.threads:
            thread.join(timeout=60)


def recovered_by(writers: Writers, since: float, *, deadline: float) -> None:
    """Wait until every writer has had a success after ``since`` (PostgreSQL is back and each
    app server thread has reconnected), or the deadline passes (then the test reports it)."""
    while time.monotonic() < deadline:
        with writers.lock:
            fresh = [a for a in writers.answers if a[0] > since]
        if sum(1 for a in fresh if a[1] in (200, 201)) >= 2 * WRITERS and all(
                a[1] in (200, 201) for a in fresh[-WRITERS:]):
            return
        time.sleep(0.2)


def test_a_database_stop_answers_503_and_recovers_without_restart(outage_cluster, tmp_path):
    # The writers switch off every person they create: the deprovisioning brake would hold
    # those after 50 (its 503s are right, but not this test's subject).
    env = portal_env(outage_cluster.url("outage"), scim={"BRAKE_ENABLED": False})
    token = prepare(env)
    server = Gunicorn(env, tmp_path / "gunicorn.log", workers=3, threads=4)
    try:
        with Writers(server.port, token) as writers:
            writers.wait_for(4 * WRITERS)  # every worker has loaded the app and connected
            stopped = time.monotonic()
            outage_cluster.pause()
            time.sleep(4)
            outage_cluster.resume()
            restarted = time.monotonic()
            recovered_by(writers, restarted, deadline=restarted + 30)  # a loaded machine takes longer
            time.sleep(1)
    finally:
        server.stop()
    answers = writers.answers
    statuses = Counter(status for _t, status, _h, _b in answers)
    during = [a for a in answers if stopped <= a[0] <= restarted]
    print(f"\n{len(answers)} answers, {statuses}; {len(during)} during the stop, "
          f"{sum(1 for a in during if a[1] != 503)} of them not 503")
    assert set(statuses) <= {201, 200, 503}, statuses
    assert statuses[503] > 0, "the database stop was not noticed"
    for _t, status, headers, body in answers:
        if status == 503:
            assert headers["Retry-After"].isdigit()
            assert headers["Content-Type"].startswith("application/scim+json")
            error = json.loads(body)
            assert error["schemas"] == [ERROR] and error["status"] == "503" and error["detail"]
    # Recovery without restart: the last second of writes all succeeded.
    last = [a for a in answers if a[0] > answers[-1][0] - 1]
    assert last and {status for _t, status, _h, _b in last} <= {200, 201}, Counter(a[1] for a in last)


@pytest.mark.django_db(transaction=True)
def test_a_lock_timeout_is_503_and_changes_nothing(scim):
    """A row held by another transaction past ``lock_timeout`` (PostgreSQL) answers 503, not 500."""
    if connection.vendor != "postgresql":
        pytest.skip("lock_timeout is PostgreSQL's")
    from django.db import connections

    from scim_portal.models import ScimUser
    from tests.protocol import create_user, db_state, patch_body

    user = create_user(scim, "locked@example.com")
    before = db_state()
    other = connections.create_connection("default")  # a second session holds the row
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(f"SELECT 1 FROM {ScimUser._meta.db_table} WHERE scim_id = %s FOR UPDATE", [user["id"]])
            with connection.cursor() as own:
                own.execute("SET lock_timeout = '200ms'")
            response = scim.patch(f"Users/{user['id']}", patch_body({"op": "replace", "path": "title", "value": "x"}))
            cursor.execute("ROLLBACK")
    finally:
        other.close()
    assert response.status_code == 503, response.json_body
    assert response["Retry-After"] == "5"
    assert response.json_body["schemas"] == [ERROR] and response.json_body["status"] == "503"
    assert db_state() == before
    with connection.cursor() as own:
        own.execute("RESET lock_timeout")
    again = scim.patch(f"Users/{user['id']}", patch_body({"op": "replace", "path": "title", "value": "y"}))
    assert again.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_sqlite_database_is_locked_is_503_and_changes_nothing(scim):
    """A write while another connection holds SQLite's write lock answers 503, not 500."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's lock")
    from django.db import connections

    from tests.protocol import create_user, db_state, patch_body

    user = create_user(scim, "sqlite-locked@example.com")
    before = db_state()
    other = connections.create_connection("default")  # the same database, another connection
    other.settings_dict["OPTIONS"] = {**other.settings_dict.get("OPTIONS", {}), "timeout": 0.1}
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN IMMEDIATE")
            cursor.execute("UPDATE scim_portal_scimuser SET version = version")  # hold the write lock
            response = scim.patch(f"Users/{user['id']}", patch_body({"op": "replace", "path": "title", "value": "x"}))
            cursor.execute("ROLLBACK")
    finally:
        other.close()
    assert response.status_code == 503, response.json_body
    assert response["Retry-After"] == "5" and response.json_body["status"] == "503"
    assert db_state() == before
    again = scim.patch(f"Users/{user['id']}", patch_body({"op": "replace", "path": "title", "value": "y"}))
    assert again.status_code == 200
