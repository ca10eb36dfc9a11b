"""The example portal served by gunicorn as deployed (several workers, DEBUG off), for tests
that need real processes: a database outage, a rate limit shared by app servers; and the
pieces every real-server test uses (a free port, waiting for a server to listen, stopping it
by its own pid, one HTTP request), for runserver too (tests/test_sqlite_live.py,
scripts/docs_test.py).

A server binds 127.0.0.1 on a free port and is stopped by its own pid.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

ISSUE_TOKEN = """
import django; django.setup()
from django.contrib.auth import get_user_model
from scim_portal.models import Integration, ScimToken
service = get_user_model().objects.create_user(email="live-service@example.com")
integration = Integration.objects.create(name="Live", slug="live", provider="okta", service_account=service)
print(ScimToken.issue(integration, description="live").raw)
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_listening(port: int, process: subprocess.Popen, *, timeout: float = 60, name: str = "server",
                         output: Callable[[], str] = lambda: "") -> None:
    """Return once 127.0.0.1:port accepts connections; ``RuntimeError`` (with ``output()``) if
    ``process`` exits first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited:\n{output()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not start within {timeout:g} s")


def stop(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM the process (by its own pid), then SIGKILL it if it has not exited in ``timeout`` s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def portal_env(database_url: str, scim: dict[str, Any] | None = None,
               caches: dict[str, Any] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIM_PORTAL_TEST")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "tests.live_settings",
        "DATABASE_URL": database_url,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "example_project")]),
        "PORTAL_DEBUG": "0",
        "SCIM_PORTAL_LIVE": json.dumps(scim or {}),
    })
    if caches:
        env["SCIM_PORTAL_LIVE_CACHES"] = json.dumps(caches)
    return env


def prepare(env: dict[str, str]) -> str:
    """Migrate the database (and the cache table) and return a fresh SCIM token."""
    run = [sys.executable, "-m", "django"]
    subprocess.run([*run, "migrate", "--no-input", "-v", "0"], env=env, cwd=ROOT, check=True)
    subprocess.run([*run, "createcachetable"], env=env, cwd=ROOT, check=True)
    done = subprocess.run([sys.executable, "-c", ISSUE_TOKEN], env=env, cwd=ROOT, check=True,
                          capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1]


class Gunicorn:
    """``gunicorn`` serving ``app`` with ``workers`` x ``threads`` on a free 127.0.0.1 port, stopped
    by its own pid; gunicorn's and the app's log lines go to ``log_path`` (the benchmarks use it too)."""

    name = "gunicorn"

    def __init__(self, env: dict[str, str], log_path: Path, workers: int = 3, threads: int = 4, *,
                 app: str = "portal_site.wsgi", timeout: int = 60, wait: bool = True):
        self.port = free_port()
        cmd = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", "gthread",
               "--threads", str(threads), "--keep-alive", "30", "--timeout", str(timeout),
               "--bind", f"127.0.0.1:{self.port}", "--error-logfile", str(log_path), "--log-level", "warning", app]
        self.log_path = log_path
        self.proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log_path.open("ab"))
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        wait_until_listening(self.port, self.proc, timeout=timeout, name=self.name,
                             output=lambda: self.log_path.read_text()[-3000:])

    def stop(self) -> None:
        stop(self.proc)


def request(port: int, method: str, path: str, body: Any = None, token: str | None = None,
            timeout: float = 30, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request to 127.0.0.1:port (a JSON body, the token as a bearer, ``headers`` added);
    returns status, headers and body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Content-Type": "application/scim+json", **(headers or {})}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()
