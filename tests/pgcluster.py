"""A throwaway PostgreSQL cluster for tests and benchmarks.

Starts ``initdb`` + ``pg_ctl`` from the installed server binaries on a
temporary directory, listening on a unix socket only (no TCP port), and
stops it at interpreter exit.  When run as root the server runs as the
``postgres`` system user, because PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SEARCH_DIRS = [f"/usr/lib/postgresql/{v}/bin" for v in (17, 16, 15, 14)]


def find_bindir() -> Path:
    env = os.environ.get("PG_BINDIR")
    candidates = [env] if env else []
    candidates += SEARCH_DIRS
    for candidate in candidates:
        if candidate and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    raise RuntimeError("PostgreSQL server binaries not found; set PG_BINDIR")


@dataclass
class Cluster:
    root: Path
    bindir: Path
    run_as: str | None

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.run_as:
            cmd = ["runuser", "-u", self.run_as, "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> Cluster:
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if self.run_as:
            entry = pwd.getpwnam(self.run_as)
            for path in (self.root, self.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.datadir), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--no-sync", "--locale=C")
        self.resume()
        atexit.register(self.stop)
        return self

    def resume(self) -> None:
        """Start the server on the existing data directory (after :meth:`pause`)."""
        options = (f"-k {self.socket_dir} -c listen_addresses='' -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.datadir), "-o", options, "-w", "-l",
                  str(self.root / "server.log"), "start")

    def pause(self) -> None:
        """Stop the server as a crash would (open connections are cut), keeping its data."""
        self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        if self.datadir.exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def django_database(self, name: str = "scim_portal") -> dict[str, object]:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": "postgres",
            "HOST": str(self.socket_dir),
            "TEST": {"NAME": f"test_{name}"},
        }

    def url(self, name: str = "scim_portal") -> str:
        from urllib.parse import quote

        return f"postgres://postgres@{quote(str(self.socket_dir), safe='')}/{name}"

    def createdb(self, name: str) -> None:
        self._run("createdb", "-h", str(self.socket_dir), "-U", "postgres", name)


def start_cluster() -> Cluster:
    root = Path(tempfile.mkdtemp(prefix="scim-portal-pg-"))
    run_as = "postgres" if os.geteuid() == 0 else None
    if run_as:
        root.chmod(0o755)
    return Cluster(root=root, bindir=find_bindir(), run_as=run_as).start()


if __name__ == "__main__":  # manual use: python tests/pgcluster.py
    import time

    c = start_cluster()
    c.createdb("scim_portal")
    print(c.url(), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


#: What docs/install.md sets on SQLite: writers queue for the lock instead of failing with
#: "database is locked" (Django 5.1+).
SQLITE_AS_DOCUMENTED = {"transaction_mode": "IMMEDIATE", "timeout": 20}


def database_settings(default: str = "sqlite", sqlite_options: dict[str, object] | None = None) -> dict[str, object]:
    """``DATABASES`` of a test settings module: a throwaway cluster started here when
    ``SCIM_PORTAL_TEST_DB`` (else ``default``) is ``postgres``, else SQLite in memory (a file
    when ``SCIM_PORTAL_SQLITE_TEST_NAME`` is set) with ``sqlite_options``."""
    if os.environ.get("SCIM_PORTAL_TEST_DB", default) == "postgres":
        return {"default": start_cluster().django_database()}
    sqlite: dict[str, object] = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": ":memory:",
        "TEST": {"NAME": os.environ.get("SCIM_PORTAL_SQLITE_TEST_NAME", "")},
    }
    if sqlite_options:
        sqlite["OPTIONS"] = sqlite_options
    return {"default": sqlite}
