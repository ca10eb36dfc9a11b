"""The small operations under concurrency: scim_portal and django-scim2 side by side.

    python bench/concurrency.py                 # 2,000 users, 4 clients, 3 rounds, 10 s per operation
    python bench/concurrency.py --smoke         # CI: 200 users, 2 clients, 1 round, 2 s per operation
    python bench/concurrency.py --no-trail      # scim_portal without history rows and write log

Both systems are seeded with the same users on one throwaway PostgreSQL cluster and served
at once under gunicorn (sync-like: ``--workers`` processes of one thread each).  Then, round
after round, each operation is sent to one system and then the other (the first system
alternating from round to round) by ``--clients`` threads, each with its own keep-alive
connection, back to back for ``--seconds``.  Printed per operation: req/s (requests completed
over the wall time), p50 and p95 latency, the ratio scim_portal / django-scim2, and the SQL
statements a request ran (the most frequent count; BEGIN and COMMIT are not counted).  Each
database is vacuumed and analyzed before each burst, so no burst pays for the dead rows and
autovacuum of the one before (scim_portal's creates, 30x more than the comparator's, did).

The operations are the ones every IdP sends most: Okta's create (``POST /Users``, with the
password Okta sends), Entra ID's create (no password), the ``userName eq`` lookup of an
existing user, and a one-attribute ``PATCH`` (``name.givenName``).
History and the write log stay on, as deployed.  Exits 1 when a scim_portal request got an
unexpected status.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import phases  # noqa: E402
from bench.client import Client, percentile  # noqa: E402
from bench.phases import Ctx, Req  # noqa: E402
from bench.run import Databases, Server, headers_for, log, seed  # noqa: E402

SYSTEMS = ("scim_portal", "django-scim2")


def create(ctx: Ctx, k: int) -> Req:
    """Okta's create body, for a userName no round has used."""
    return phases.okta_lookup_create(ctx, k)[1][1]


def create_without_password(ctx: Ctx, k: int) -> Req:
    """Entra ID's create body (no password: nothing for either system to hash)."""
    return phases.entra_lookup_create(ctx, k)[1][1]


def lookup(ctx: Ctx, k: int) -> Req:
    return phases.filter_username(ctx, k)


def patch_given_name(ctx: Ctx, k: int) -> Req:
    i = ctx.pick("okta_patch", k)
    body = {"schemas": [phases.PATCH_OP],
            "Operations": [{"op": "replace", "path": "name.givenName", "value": f"Given{k}"}]}
    return Req("PATCH", f"{phases.SCIM}/Users/{ctx.user_id(i)}", body, expect=(200, 204))


OPERATIONS = {"create": create, "create (no password)": create_without_password, "userName filter": lookup,
              "PATCH givenName": patch_given_name}


@dataclass
class Tally:
    """What one system answered for one operation, over every round."""

    seconds: list[float] = field(default_factory=list)
    wall: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    statements: Counter = field(default_factory=Counter)  # SQL statements per request (X-Query-Count)
    unexpected: int = 0

    @property
    def rps(self) -> float:
        return len(self.seconds) / self.wall if self.wall else 0.0

    @property
    def usual_statements(self) -> str:
        """The most frequent statement count (BEGIN and COMMIT are not counted), or "?"."""
        usual = self.statements.most_common(1)
        return str(usual[0][0]) if usual and usual[0][0] is not None else "?"

    def ms(self, pct: float) -> float:
        return percentile(sorted(self.seconds), pct) * 1000


@dataclass
class Served:
    system: str
    server: Server
    ctx: Ctx
    token: str
    url: str

    def settle(self) -> None:
        """Vacuum and analyze the system's database, so each burst starts on a settled one: the
        dead rows and the autovacuum a fast burst of writes leaves would slow the next burst."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute("VACUUM (ANALYZE)")


def burst(served: Served, build, counter: itertools.count, clients: int, seconds: float, tally: Tally) -> None:
    """``clients`` threads sending ``build`` requests back to back for ``seconds``."""
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker() -> None:
        client = Client(served.server.port, headers_for(served.system, served.token))
        try:
            while time.monotonic() < deadline:
                with lock:
                    k = next(counter)
                req = build(served.ctx, k)
                status, elapsed, queries, data, _timings = client.send(req)
                ok = status in req.expect and (req.must_contain is None or req.must_contain.encode() in data)
                with lock:
                    tally.seconds.append(elapsed)
                    tally.statuses[status] += 1
                    tally.statements[queries] += 1
                    tally.unexpected += not ok
        finally:
            client.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tally.wall += time.monotonic() - started


def serve(system: str, args, dbs: Databases, out_dir: Path) -> Served:
    url = dbs.copy(dbs.template(system), f"conc_{system.replace('-', '_')}")
    seeded = seed(system, url, args.users, min(args.users, 100))
    env = {"BENCH_TRAIL": "off"} if args.no_trail and system == "scim_portal" else {}
    server = Server(system, url, out_dir / f"server-{system}.log", args.workers, env=env)
    server.wait_ready()
    ctx = Ctx(system=system, users=args.users, big=0, small=0, groups=seeded["groups"],
              requests=max(args.users // 4, 1))
    return Served(system, server, ctx, seeded["token"], url)


def run(args, out_dir: Path) -> dict[str, dict[str, Tally]]:
    from tests.pgcluster import start_cluster

    cluster = start_cluster()
    served: list[Served] = []
    operations = {op: build for op, build in OPERATIONS.items() if not args.only or op in args.only}
    tallies = {op: {s: Tally() for s in SYSTEMS} for op in operations}
    # One counter per (operation, system), shared by every round: each create is a new person.
    counters = {(op, s): itertools.count() for op in OPERATIONS for s in SYSTEMS}
    try:
        dbs = Databases(cluster)
        served = [serve(system, args, dbs, out_dir) for system in SYSTEMS]
        log(f"PostgreSQL {dbs.server_version()}; {args.users:,} users in each system")
        for op, build in operations.items():  # warm-up: connections, caches, first-request costs
            for s in served:
                burst(s, build, counters[(op, s.system)], args.clients, 1.0, Tally())
        for round_no in range(args.rounds):
            order = served if round_no % 2 == 0 else served[::-1]
            for op, build in operations.items():
                for s in order:
                    s.settle()
                    burst(s, build, counters[(op, s.system)], args.clients, args.seconds,
                          tallies[op][s.system])
                log(f"  round {round_no + 1} {op}: " + ", ".join(
                    f"{s} {tallies[op][s].rps:.0f} req/s" for s in SYSTEMS))
        dbs.admin.close()
    finally:
        for s in served:
            s.server.stop()
        cluster.stop()
    return tallies


def table(tallies: dict[str, dict[str, Tally]]) -> str:
    lines = [
        "| operation | scim_portal req/s | django-scim2 req/s | ratio | scim_portal p50 / p95 ms "
        "| django-scim2 p50 / p95 ms | statements per request |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for op, by_system in tallies.items():
        ours, theirs = by_system["scim_portal"], by_system["django-scim2"]
        ratio = ours.rps / theirs.rps if theirs.rps else float("nan")
        lines.append(
            f"| {op} | {ours.rps:.0f} | {theirs.rps:.0f} | {ratio:.2f}x | {ours.ms(50):.1f} / {ours.ms(95):.1f} "
            f"| {theirs.ms(50):.1f} / {theirs.ms(95):.1f} | {ours.usual_statements} / {theirs.usual_statements} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="per operation, system and round")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes per system")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--smoke", action="store_true", help="--users 200 --clients 2 --rounds 1 --seconds 2")
    parser.add_argument("--no-trail", action="store_true",
                        help="scim_portal without history rows and without the write log (to measure what they cost)")
    parser.add_argument("--only", action="append", choices=list(OPERATIONS), metavar="OPERATION",
                        help=f"run only this operation (repeatable): {', '.join(map(repr, OPERATIONS))}")
    args = parser.parse_args(argv)
    if args.smoke:
        args.users, args.clients, args.rounds, args.seconds = 200, 2, 1, 2.0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    out_dir = args.out or ROOT / "bench" / "results" / f"concurrent-{stamp}"
    out_dir.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    tallies = run(args, out_dir)
    print(f"{args.users:,} users, {args.clients} clients, {args.rounds} rounds x {args.seconds:g} s, "
          f"gunicorn {args.workers} workers per system, PostgreSQL, {time.monotonic() - began:.0f} s in all")
    print(table(tallies))
    for op, by_system in tallies.items():
        for system, tally in by_system.items():
            log(f"  {op} {system}: {dict(tally.statuses)}")
    bad = {op: t["scim_portal"].unexpected for op, t in tallies.items() if t["scim_portal"].unexpected}
    if bad:
        log(f"UNEXPECTED scim_portal answers: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
