"""The example portal on its embedded SQLite serialises IdP writes: races over real HTTP.

The example portal (its own settings module, as shipped: ``transaction_mode``
``IMMEDIATE``, a 20 s lock timeout, WAL) runs as ``manage.py runserver`` (threaded)
on a SQLite file, and IdP workers send their requests at the same moment over HTTP:
eight creates of one userName give one 201 and seven 409, never "database is locked";
eight member adds to one group all succeed and every member is kept.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.protocol import GROUP, PATCH_OP, user_body

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 8
SETUP = """
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from django.contrib.auth import get_user_model
from scim_portal.models import Integration, ScimToken
service = get_user_model().objects.create_user(email="scim-service@example.com")
integration = Integration.objects.create(name="Okta", slug="okta", provider="okta", service_account=service)
print(ScimToken.issue(integration).raw)
"""


@pytest.fixture(autouse=True)
def sqlite_leg_only():
    if os.environ.get("SCIM_PORTAL_TEST_DB", "sqlite") != "sqlite":
        pytest.skip("the example portal's SQLite configuration is tested in the SQLite leg")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def manage(env: dict[str, str], *args: str, **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "example_project" / "manage.py"), *args], env=env,
                          cwd=ROOT, check=True, capture_output=True, text=True, timeout=120, **kwargs)


def wait_until_listening(port: int, server: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"runserver exited: {server.stderr.read() if server.stderr else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("runserver did not start listening")


@pytest.fixture(scope="module")
def portal(tmp_path_factory) -> Iterator[tuple[int, str]]:
    """(port, token) of the example portal served on a fresh SQLite file."""
    database = tmp_path_factory.mktemp("sqlite-live") / "portal.sqlite3"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal_site.settings", "PORTAL_DEBUG": "0",
           "DATABASE_URL": f"sqlite:///{database}",
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "example_project")])}
    token = manage(env, "shell", "-c", SETUP).stdout.strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "example_project" / "manage.py"), "runserver", f"127.0.0.1:{port}",
         "--noreload", "--skip-checks"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_listening(port, server)
        yield port, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def send(port: int, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
        connection.request(method, f"/scim/v2/{path}", json.dumps(body) if body is not None else None, headers)
        response = connection.getresponse()
        content = response.read()
        return response.status, json.loads(content) if content else None
    finally:
        connection.close()


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
