"""SCIM benchmark: scim_portal vs django-scim2 vs a bare Django view, side by side.

    python bench/run.py --sizes 1000,10000,100000 --group-members 50000   # the full run
    python bench/run.py --smoke                                          # CI smoke test

Starts one throwaway PostgreSQL cluster; for each size, seeds a database per system
(copied from a migrated template, bulk seed) and serves every system under gunicorn on
a free 127.0.0.1 port; after a warm-up, runs the steps of the IdP request mix, the
systems taking turns within each step, each with a sequential keep-alive client
(bounded in requests and seconds per phase); then stops the servers.
Writes bench/results/<timestamp>/{results.json,results.md,chart.png} and prints the table.
Exits 1 when any scim_portal request got a status other than the expected one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402
from bench.client import Client, Lane, run_step, warm_up  # noqa: E402
from bench.phases import STEPS, SYSTEMS, WARMUP, Ctx  # noqa: E402
from tests.liveserver import Gunicorn  # noqa: E402

SETTINGS = {
    "scim_portal": "bench.portal.settings",
    "django-scim2": "bench.comparator.settings",
    "bare": "bench.bare.settings",
    "bare+auth+log": "bench.bare.settings_obliged",
}
WSGI = {
    "scim_portal": "portal_site.wsgi:application",
    "django-scim2": "bench.comparator.wsgi:application",
    "bare": "bench.bare.wsgi:application",
    "bare+auth+log": "bench.bare.wsgi:application",
}
DB_PREFIX = {"scim_portal": "portal", "django-scim2": "djscim2", "bare": "bare", "bare+auth+log": "obliged"}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def system_env(system: str, database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": SETTINGS[system],
        "DATABASE_URL": database_url,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "example_project")]),
        "PORTAL_DEBUG": "0",
        "BENCH_QUERY_COUNT": "1",
    })
    return env


def run_checked(cmd: list[str], env: dict[str, str], what: str) -> str:
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


class Server(Gunicorn):
    """One system under gunicorn, bound to 127.0.0.1 only; stopped by its own pid."""

    def __init__(self, system: str, database_url: str, log_path: Path, workers: int, threads: int = 1,
                 env: dict[str, str] | None = None):
        self.system = self.name = system
        super().__init__({**system_env(system, database_url), **(env or {})}, log_path, workers, threads,
                         app=WSGI[system], timeout=180, wait=False)


class Databases:
    """Databases on the throwaway cluster: one migrated template per system, one copy per size."""

    def __init__(self, cluster):
        import psycopg

        self.cluster = cluster
        self.admin = psycopg.connect(cluster.url("postgres"), autocommit=True)

    def execute(self, sql: str) -> None:
        self.admin.execute(sql)

    def template(self, system: str) -> str:
        name = f"bench_{DB_PREFIX[system]}_template"
        self.execute(f'CREATE DATABASE "{name}"')
        run_checked([sys.executable, "-m", "django", "migrate", "--noinput", "--skip-checks"],
                    system_env(system, self.cluster.url(name)), f"migrate {system}")
        return name

    def copy(self, template: str, name: str) -> str:
        self.execute(f'DROP DATABASE IF EXISTS "{name}"')
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.cluster.url(name)

    def drop(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def server_version(self) -> str:
        return self.admin.execute("SHOW server_version").fetchone()[0]


def seed(system: str, database_url: str, users: int, group_members: int) -> dict[str, Any]:
    out = run_checked(
        [sys.executable, "-m", "bench.seed", "--system", system, "--users", str(users),
         "--group-members", str(group_members)],
        system_env(system, database_url), f"seed {system}",
    )
    return json.loads(out.strip().splitlines()[-1])


def headers_for(system: str, token: str) -> dict[str, str]:
    if system == "bare":
        return {"Accept": "application/json", "Content-Type": "application/json"}
    if system == "bare+auth+log":
        return {"Authorization": f"Bearer {token}", "Accept": "application/json", "Content-Type": "application/json"}
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/scim+json",
        "Content-Type": "application/scim+json; charset=utf-8",
        "User-Agent": "scim-bench",
    }


@dataclass
class Running:
    """One system seeded at one size and served: what a run needs to measure it and stop it."""

    system: str
    database: str
    server: Server
    lane: Lane
    seed_seconds: float


def start_system(system: str, size: int, args, dbs: Databases, template: str, out_dir: Path) -> Running:
    name = f"bench_{DB_PREFIX[system]}_{size}"
    url = dbs.copy(template, name)
    started = time.monotonic()
    seeded = seed(system, url, size, args.group_members)
    log(f"  {system}: seeded {size:,} users in {time.monotonic() - started:.1f} s")
    big, small = report_sizes(size, args.group_members)
    ctx = Ctx(system=system, users=size, big=big, small=small, groups=seeded["groups"], requests=args.requests)
    server = Server(system, url, out_dir / f"server-{system}-{size}.log", args.workers)
    running = Running(system, name, server, Lane(Client(server.port, headers_for(system, seeded["token"])), ctx),
                      seeded["seconds"])
    try:
        server.wait_ready()
        warm_up(running.lane.client, ctx, WARMUP, rounds=args.warmup)
    except BaseException:
        stop_system(running, dbs, args)
        raise
    return running


def stop_system(running: Running, dbs: Databases, args) -> None:
    running.lane.client.close()
    running.server.stop()
    if not args.keep_databases:
        dbs.drop(running.database)


def measure(size: int, args, dbs: Databases, templates: dict[str, str], out_dir: Path) -> list[dict[str, Any]]:
    """Every system at one size: all seeded and served at once, taking turns step by step."""
    systems: list[Running] = []
    rows: list[dict[str, Any]] = []
    try:
        for system in args.system_list:
            systems.append(start_system(system, size, args, dbs, templates[system], out_dir))
        for index, step in enumerate(STEPS):
            run_step([r.lane for r in systems], step, requests=args.requests, seconds=args.phase_seconds,
                     first=index, log=log)
            for running in systems:
                for result in running.lane.results.values():
                    row = {"system": running.system, "size": size, **result.summary(),
                           "seed_seconds": running.seed_seconds}
                    rows.append(row)
                    log(f"    {running.system:13s} {size:>7,} {row['phase']:20s} p50 {row['p50_ms']:>9} ms  "
                        f"p95 {row['p95_ms']:>9} ms  {row['rps']:>7} req/s  q={row['queries']}  {row['statuses']}")
    finally:
        for running in systems:
            stop_system(running, dbs, args)
    return rows


def report_sizes(size: int, group_members: int) -> tuple[int, int]:
    from bench.dataset import group_sizes

    return group_sizes(size, group_members)


def parse_args(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated user counts")
    parser.add_argument("--group-members", type=int, default=50000, help="members of the big group (≤ users)")
    parser.add_argument("--requests", type=int, default=200, help="requests per phase")
    parser.add_argument("--phase-seconds", type=float, default=20.0, help="hard time cap per phase")
    parser.add_argument("--warmup", type=int, default=10, help="warm-up rounds of the read requests")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated subset of systems")
    parser.add_argument("--out", type=Path, default=None, help="output directory")
    parser.add_argument("--keep-databases", action="store_true", help="keep the seeded databases until exit")
    parser.add_argument("--smoke", action="store_true",
                        help="small and quick: --sizes 200 --group-members 500 --requests 20 --phase-seconds 10")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.group_members, args.requests, args.phase_seconds, args.warmup = "200", 500, 20, 10.0, 3
    args.size_list = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    args.system_list = [s for s in SYSTEMS if s in args.systems.split(",")]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from tests.pgcluster import start_cluster

    began = time.monotonic()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    out_dir = args.out or ROOT / "bench" / "results" / stamp
    out_dir.mkdir(parents=True, exist_ok=True)
    log(f"results in {out_dir}")
    cluster = start_cluster()
    rows: list[dict[str, Any]] = []
    try:
        dbs = Databases(cluster)
        templates = {system: dbs.template(system) for system in args.system_list}
        log(f"PostgreSQL {dbs.server_version()}; templates migrated in {time.monotonic() - began:.1f} s")
        for size in args.size_list:
            log(f"N = {size:,}")
            rows.extend(measure(size, args, dbs, templates, out_dir))
        meta = {
            "command": " ".join(["python", "bench/run.py", *(argv if argv is not None else sys.argv[1:])]),
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
            "postgresql": dbs.server_version(),
            "sizes": args.size_list,
            "group_members": args.group_members,
            "requests_per_phase": args.requests,
            "phase_seconds_cap": args.phase_seconds,
            "gunicorn": f"{args.workers} workers (gthread, 1 thread), keep-alive, 127.0.0.1",
            "run_seconds": round(time.monotonic() - began, 1),
        }
        dbs.admin.close()
    finally:
        cluster.stop()
    markdown = report.write(out_dir, meta, rows, args.size_list)
    print(markdown)
    bad = [r for r in rows if r["system"] == "scim_portal" and (r["unexpected"] or not r["requests"])]
    for r in bad:
        log(f"UNEXPECTED: scim_portal {r['phase']} at N={r['size']}: {r['statuses']}")
    log(f"done in {time.monotonic() - began:.0f} s; results in {out_dir}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
