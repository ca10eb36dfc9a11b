"""The example portal on its embedded SQLite serialises IdP writes: races over real HTTP.

The example portal (its own settings module, as shipped: ``transaction_mode``
``IMMEDIATE``, a 20 s lock timeout, WAL) runs as ``manage.py runserver`` (threaded)
on a SQLite file, and IdP workers send their requests at the same moment over HTTP:
eight creates of one userName give one 201 and seven 409, never "database is locked";
eight member adds to one group all succeed and every member is kept.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from tests.liveserver import ROOT, free_port, prepare, request, stop, wait_until_listening
from tests.protocol import GROUP, PATCH_OP, user_body

pytestmark = pytest.mark.live

WORKERS = 8


@pytest.fixture(autouse=True)
def sqlite_leg_only():
    if os.environ.get("SCIM_PORTAL_TEST_DB", "sqlite") != "sqlite":
        pytest.skip("the example portal's SQLite configuration is tested in the SQLite leg")


@pytest.fixture(scope="module")
def portal(tmp_path_factory) -> Iterator[tuple[int, str]]:
    """(port, token) of the example portal served on a fresh SQLite file."""
    database = tmp_path_factory.mktemp("sqlite-live") / "portal.sqlite3"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal_site.settings", "PORTAL_DEBUG": "0",
           "DATABASE_URL": f"sqlite:///{database}",
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "example_project")])}
    token = prepare(env)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "example_project" / "manage.py"), "runserver", f"127.0.0.1:{port}",
         "--noreload", "--skip-checks"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_listening(port, server, timeout=30, name="runserver",
                             output=lambda: server.stderr.read() if server.stderr else "")
        yield port, token
    finally:
        stop(server, timeout=10)


def send(port: int, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    status, _headers, content = request(port, method, f"/scim/v2/{path}", body, token, timeout=60)
    return status, json.loads(content) if content else None


def at_once(port: int, token: str, requests: list[tuple[str, str, Any]]) -> list[tuple[int, Any]]:
    """Send each request from its own thread, all released by one barrier."""
    barrier = threading.Barrier(len(requests))
    answers: list[tuple[int, Any]] = [(0, None)] * len(requests)

    def worker(i: int) -> None:
        barrier.wait()
        answers[i] = send(port, token, *requests[i])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return answers


def test_parallel_creates_of_one_user_name_make_one_account(portal):
    port, token = portal
    answers = at_once(port, token, [("POST", "Users", user_body("racer@example.com"))] * WORKERS)
    assert sorted(status for status, _body in answers) == [201] + [409] * (WORKERS - 1), answers
    assert all(body["scimType"] == "uniqueness" for status, body in answers if status == 409)
    query = urllib.parse.quote('userName eq "racer@example.com"')
    found = send(port, token, "GET", f"Users?filter={query}")[1]
    assert found["totalResults"] == 1


def test_parallel_member_adds_keep_every_member(portal):
    port, token = portal
    ids = []
    for i in range(WORKERS):
        status, body = send(port, token, "POST", "Users", user_body(f"member{i}@example.com"))
        assert status == 201, body
        ids.append(body["id"])
    status, group = send(port, token, "POST", "Groups", {"schemas": [GROUP], "displayName": "Racers"})
    assert status == 201, group
    add = [("PATCH", f"Groups/{group['id']}",
            {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": i}]}]})
           for i in ids]
    answers = at_once(port, token, add)
    assert [status for status, _body in answers] == [204] * WORKERS, answers  # RFC 7644 3.5.2
    members = send(port, token, "GET", f"Groups/{group['id']}")[1]["members"]
    assert sorted(m["value"] for m in members) == sorted(ids)
