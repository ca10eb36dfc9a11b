"""The docs are a test: install the built wheel into a new portal exactly as the docs say.

Builds the sdist and, from it, the wheel; installs the wheel (non-editable) into a
fresh virtualenv; then, for each host variant, creates a ``django-admin
startproject`` portal, applies the code blocks of README.md, docs/install.md and
docs/tracking.md that carry a ``<!-- docs-test: NAME -->`` marker (a Python block
whose first line is ``# path/file.py`` is appended to that file; a bash block is
run in the project), starts ``runserver`` and, over HTTP, provisions a user and
deactivates it, then checks the portal account is inactive and in the history
under the service account.

- ``stock``: Django's ``auth.User`` on SQLite (docs/install.md, top to bottom);
- ``custom``: a custom user model on PostgreSQL (docs/install.md with the recipe of
  docs/tracking.md "Your own user model"; a throwaway cluster on a unix socket).

A doc edit that breaks a block, or drops a marker, fails this script.  Usage:
``python scripts/docs_test.py [stock|custom ...]`` (default: both).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.liveserver import free_port, stop, wait_until_listening  # noqa: E402
from tests.liveserver import request as http_request  # noqa: E402

MARKER = re.compile(r"^\s*<!--\s*docs-test:\s*([\w-]+)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
TARGET = re.compile(r"^#\s*([\w./-]+\.py)\b")
PROJECT = "mysite"
SCIM_JSON = "application/scim+json"
STARTED = time.monotonic()


def say(text: str) -> None:
    print(f"[{time.monotonic() - STARTED:5.0f} s] {text}", flush=True)


class DocsTestError(Exception):
    """A step of the docs did not work as written."""


@dataclass(frozen=True)
class Block:
    doc: str
    name: str
    lang: str
    text: str


def blocks(doc: str) -> dict[str, Block]:
    """The marked fenced blocks of a Markdown file, dedented, by marker name."""
    lines = (ROOT / doc).read_text().splitlines()
    found: dict[str, Block] = {}
    for i, line in enumerate(lines):
        marker = MARKER.match(line)
        if not marker:
            continue
        name = marker.group(1)
        fence = FENCE.match(lines[i + 1]) if i + 1 < len(lines) else None
        if fence is None:
            raise DocsTestError(f"{doc}: marker {name!r} is not followed by a fenced code block")
        end = next((j for j in range(i + 2, len(lines)) if lines[j].strip() == "```"), None)
        if end is None:
            raise DocsTestError(f"{doc}: the block {name!r} is not closed")
        if name in found:
            raise DocsTestError(f"{doc}: two blocks are marked {name!r}")
        text = textwrap.dedent("\n".join(lines[i + 2:end])) + "\n"
        found[name] = Block(doc, name, fence.group(2), text)
    return found


def block(doc: str, name: str) -> Block:
    try:
        return blocks(doc)[name]
    except KeyError:
        raise DocsTestError(f"{doc}: no block marked <!-- docs-test: {name} -->") from None


def run(cmd: list[str] | str, *, cwd: Path, env: dict[str, str], what: str) -> str:
    shell = isinstance(cmd, str)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", cmd] if shell else cmd,
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )
    if result.returncode != 0:
        raise DocsTestError(f"{what} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


class Portal:
    """A ``startproject`` portal in ``root`` using the virtualenv ``venv``."""

    def __init__(self, root: Path, venv: Path) -> None:
        self.root = root
        self.env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}", "VIRTUAL_ENV": str(venv)}
        # Bytecode is written on first import (pip did not compile), so later commands start fast.
        for name in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "SCIM_PORTAL_VENV", "PYTHONDONTWRITEBYTECODE"):
            self.env.pop(name, None)
        self.python = str(venv / "bin" / "python")
        root.mkdir(parents=True)
        run([str(venv / "bin" / "django-admin"), "startproject", PROJECT, str(root)], cwd=root, env=self.env,
            what="django-admin startproject")

    def apply(self, doc: str, name: str) -> str:
        """Apply one marked block of a doc: append Python to its file, or run bash."""
        item = block(doc, name)
        say(f"  {doc} [{name}]")
        if item.lang in ("bash", "console", "sh"):
            return run(item.text, cwd=self.root, env=self.env, what=f"{doc} [{name}]")
        target = TARGET.match(item.text.splitlines()[0])
        if item.lang != "python" or target is None:
            raise DocsTestError(f"{doc} [{name}]: a python block must start with '# <file>.py'")
        path = target.group(1)
        if path in ("settings.py", "urls.py"):
            path = f"{PROJECT}/{path}"
        file = self.root / path
        file.parent.mkdir(parents=True, exist_ok=True)
        with file.open("a") as handle:
            handle.write("\n\n" + item.text)
        return ""

    def manage(self, *args: str) -> str:
        return run([self.python, "manage.py", *args], cwd=self.root, env=self.env, what=f"manage.py {args[0]}")

    def append_settings(self, text: str) -> None:
        with (self.root / PROJECT / "settings.py").open("a") as handle:
            handle.write("\n\n" + text + "\n")


def pip_install(venv: Path, *requirements: str) -> None:
    # No .pyc compilation: Django alone is thousands of files, and each is used once here.
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-compile",
                    "--disable-pip-version-check", *requirements], check=True)


def build_and_install(work: Path) -> Path:
    """Build sdist and wheel (the wheel from the sdist), install the wheel into a fresh venv."""
    builder, venv, dist = work / "builder", work / "venv", work / "dist"
    subprocess.run([sys.executable, "-m", "venv", str(builder)], check=True)
    # The build backend of pyproject.toml, installed once instead of once per build step.
    pip_install(builder, "build", "setuptools>=77", "wheel")
    run([str(builder / "bin" / "python"), "-m", "build", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        cwd=work, env=dict(os.environ), what="python -m build")
    wheel = next(dist.glob("scim_portal-*.whl"))
    sdist = next(dist.glob("scim_portal-*.tar.gz"))
    say(f"  built {sdist.name} and {wheel.name}")
    check_wheel(wheel)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip_install(venv, f"{wheel}[postgres]")
    say("  wheel installed")
    where = run([str(venv / "bin" / "python"), "-c", "import scim_portal; print(scim_portal.__file__)"],
                cwd=work, env=dict(os.environ, PYTHONPATH=""), what="import scim_portal")
    if not where.startswith(str(venv)):
        raise DocsTestError(f"scim_portal imported from {where.strip()}, not from the installed wheel")
    return venv


def check_wheel(wheel: Path) -> None:
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("scim_portal/py.typed", "scim_portal/contrib/auth_history.py",
                   "scim_portal/migrations/0001_integrations_tokens_identities.py",
                   "scim_portal/templates/scim_portal/oauth/authorize.html"):
        if needed not in names:
            raise DocsTestError(f"the wheel lacks {needed}")
    if any(name.startswith(("tests/", "example_project/", "bench/")) for name in names):
        raise DocsTestError("the wheel ships tests, the example project or the benchmark")


def request(port: int, path: str, token: str, method: str = "GET", body: object = None) -> tuple[int, dict]:
    status, _headers, content = http_request(port, method, path, body, token, headers={"Accept": SCIM_JSON})
    return status, json.loads(content or b"{}")


class Server:
    """``manage.py runserver`` on a free localhost port, stopped by its pid."""

    def __init__(self, portal: Portal) -> None:
        self.port = free_port()
        self.log = (portal.root / "server.log").open("w")
        self.process = subprocess.Popen(
            [portal.python, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload"],
            cwd=portal.root, env=portal.env, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        try:
            wait_until_listening(self.port, self.process, timeout=60, name="runserver",
                                 output=lambda: Path(self.log.name).read_text())
        except RuntimeError as exc:
            raise DocsTestError(str(exc)) from None
        return self

    def __exit__(self, *exc: object) -> None:
        stop(self.process, timeout=10)
        self.log.close()


def provision_and_deactivate(portal: Portal, token: str, user_name: str, email: str) -> None:
    """What an IdP does first: create a person, then switch them off (Okta's PATCH)."""
    with Server(portal) as server:
        status, body = request(server.port, "/scim/v2/Users", token, "POST", {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name,
            "name": {"givenName": "Jane", "familyName": "Doe"},
            "emails": [{"value": email, "type": "work", "primary": True}], "active": True})
        if status != 201:
            raise DocsTestError(f"POST /Users answered {status}: {body}")
        status, body = request(server.port, f"/scim/v2/Users/{body['id']}", token, "PATCH", {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": False}}]})
        if status != 200 or body.get("active") is not False:
            raise DocsTestError(f"PATCH active=false answered {status}: {body}")
    say(f"  POST /Users 201, PATCH active=false 200 over {server.url}")


CHECK_ACCOUNT = """
from django.contrib.auth import get_user_model
User = get_user_model()
user = User.objects.get(**{User.USERNAME_FIELD: %r})
assert user.is_active is False, "the portal account is still active"
record = user.history.latest()
assert record.history_user.get_username() == "scim-okta", record.history_user
assert record.scim_integration.slug == "okta-prod"
print("account inactive; history by", record.history_user.get_username(), "via", record.scim_integration.slug)
"""


def create_credentials(portal: Portal) -> str:
    portal.apply("docs/install.md", "integration")
    token = portal.apply("docs/install.md", "token").strip()
    if not token or len(token.split()) != 1:
        raise DocsTestError(f"scim_token create printed more than a token: {token!r}")
    return token


def readme_matches_install() -> None:
    for name in ("settings", "urls"):
        if block("README.md", name).text != block("docs/install.md", name).text:
            raise DocsTestError(f"README.md and docs/install.md disagree on the block {name!r}")


def stock_host(work: Path, venv: Path) -> None:
    """docs/install.md top to bottom, with Django's auth.User on the project's SQLite."""
    portal = Portal(work / "stock", venv)
    for name in ("settings", "sqlite", "urls", "migrate", "stock-history-app", "stock-history-settings",
                 "stock-history-models", "stock-history-admin", "stock-history-migrate"):
        portal.apply("docs/install.md", name)
    portal.manage("check", "--fail-level", "WARNING")
    token = create_credentials(portal)
    provision_and_deactivate(portal, token, "jdoe", "jane.doe@example.com")
    say("  " + portal.manage("shell", "--verbosity", "0", "-c", CHECK_ACCOUNT % "jdoe").strip())


def custom_host(work: Path, venv: Path) -> None:
    """docs/install.md with the custom-user recipe of docs/tracking.md, on PostgreSQL."""
    from tests.pgcluster import start_cluster

    cluster = start_cluster()
    try:
        cluster.createdb("portal")
        database = {k: v for k, v in cluster.django_database("portal").items() if k != "TEST"}
        portal = Portal(work / "custom", venv)
        portal.apply("docs/install.md", "settings")
        portal.append_settings(f"DATABASES = {{'default': {database!r}}}  # the test's PostgreSQL")
        for name in ("custom-user-app", "custom-user-model", "custom-user-settings", "custom-user-migration",
                     "custom-user-history", "custom-user-history-migration"):
            portal.apply("docs/tracking.md", name)
        portal.apply("docs/install.md", "urls")  # the recipe's last step has migrated already
        portal.manage("check", "--fail-level", "WARNING")
        token = create_credentials(portal)
        provision_and_deactivate(portal, token, "jdoe", "jane.doe@example.com")
        say("  " + portal.manage("shell", "--verbosity", "0", "-c", CHECK_ACCOUNT % "jdoe").strip())
    finally:
        cluster.stop()


HOSTS = {"stock": stock_host, "custom": custom_host}


def main(names: list[str]) -> int:
    work = Path(tempfile.mkdtemp(prefix="scim-portal-docs-"))
    try:
        readme_matches_install()
        say("docs test: build and install the wheel")
        venv = build_and_install(work)
        for name in names or list(HOSTS):
            say(f"docs test: {name} host")
            HOSTS[name](work, venv)
    except DocsTestError as exc:
        print(f"DOCS TEST FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    say("docs test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
