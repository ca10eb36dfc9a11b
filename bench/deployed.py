"""The example portal as deployed, attacked and faulted: the figures of the hardening checks.

    python bench/deployed.py                  # every check, default sizes
    python bench/deployed.py --smoke          # small sizes (a minute or two)
    python bench/deployed.py --only fuzz,race

One throwaway PostgreSQL cluster; the example portal served by gunicorn (``--workers``
processes x ``--threads`` threads, DEBUG off), on 127.0.0.1 only.  Each check prints one line:

- fuzz: random requests (methods, paths, filters, headers, junk and hostile JSON) with a valid
  token -> 5xx answers, answers without a SCIM body, requests without a log row;
- race: rounds of 16 concurrent ``active`` toggles on one user -> rounds where SCIM ``active``
  and the host's ``is_active`` disagree, and 200s reporting a state other than the one written;
- outage: writers running while PostgreSQL is stopped and started again -> answers that were
  neither a success nor a 503, and seconds to the first success after the restart;
- secrets: unique secrets sent in every shape (IdP-normal and odd) -> hits in any table;
- unauthenticated: bytes the database keeps per 1,000 refused requests;
- rate: admitted vs allowed under ``RATE_LIMIT`` with two server processes on one cache
  (the database cache, and Redis when ``redis-server`` is installed).
Exits 1 when a check finds a defect.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.run import Databases, Server, log, seed, system_env  # noqa: E402

SCIM = "/scim/v2"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SETTINGS = "bench.portal.deployed"


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]


class Http:
    """A keep-alive client for one server on 127.0.0.1 (reconnects after errors)."""

    def __init__(self, port: int, token: str | None = None, timeout: float = 30.0):
        self.port, self.token, self.timeout = port, token, timeout
        self.conn: http.client.HTTPConnection | None = None

    def send(self, method: str, path: str, body: bytes | str | dict | list | None = None,
             headers: dict[str, str] | None = None) -> Answer:
        data = body if body is None or isinstance(body, (str, bytes)) else json.dumps(body).encode()
        data = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        sent = {"Accept": "application/scim+json", "Content-Type": "application/scim+json"}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        sent.update(headers or {})
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            self.conn.request(method, path, body=data, headers=sent)
            response = self.conn.getresponse()
            return Answer(response.status, response.read(), {k.lower(): v for k, v in response.getheaders()})
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def is_scim_error(answer: Answer) -> bool:
    try:
        document = json.loads(answer.body)
    except ValueError:
        return False
    return isinstance(document, dict) and ERROR in (document.get("schemas") or []) \
        and str(document.get("status")) == str(answer.status)


def scim_body_ok(answer: Answer) -> bool:
    if answer.status >= 400:
        return is_scim_error(answer)
    if not answer.body:
        return answer.status in (204, 304)
    try:
        json.loads(answer.body)
    except ValueError:
        return False
    return True


def user_body(name: str, **extra: Any) -> dict[str, Any]:
    return {"schemas": [USER], "userName": name, "name": {"givenName": "Deployed", "familyName": "Check"},
            "emails": [{"value": name, "type": "work", "primary": True}], "active": True, **extra}


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


class Site:
    """The example portal on its own database, with a token, and a psycopg connection to look inside."""

    def __init__(self, cluster, dbs: Databases, name: str, out: Path, args, env: dict[str, str] | None = None):
        self.cluster, self.name = cluster, name
        self.url = dbs.copy(args.template, name)
        self.env = env or {}
        self.token = seed("scim_portal", self.url, 20, 5)["token"]
        self.servers: list[Server] = []
        self.out, self.args = out, args

    def serve(self, workers: int | None = None) -> Server:
        server = Server("scim_portal", self.url, self.out / f"{self.name}-{len(self.servers)}.log",
                        workers or self.args.workers, self.args.threads,
                        env={"DJANGO_SETTINGS_MODULE": SETTINGS, **self.env})
        server.wait_ready()
        self.servers.append(server)
        return server

    def client(self, server: Server | None = None, token: str | bool | None = True) -> Http:
        chosen = self.token if token is True else (token or None)
        return Http((server or self.servers[0]).port, chosen)

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def parallel(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released together."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # a lost connection is a result too
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# -- fuzz ---------------------------------------------------------------------------------------
FILTERS = ['userName eq "a"', "id pr", "not (id pr)", "meta.resourceType pr", "members.value pr",
           'emails[type eq "work"].value eq "x"', 'userName sw "\\"', "a or b and c", "((((", 'x eq "\ud800"',
           'displayName co "é"', "meta.lastModified gt \"2020\"", "userName eq", "", " ", "\x00",
           'name.givenName eq "x" and not (active eq false)', 'members[value eq "1"]', "urn:x:y eq 1"]
JUNK = ["", "\ud800", "\udfff", "\x00", "é", "\uff21lice", "a" * 5000, "\U0001d518", "\u200b", "<script>",
        "' OR 1=1 --", "../../etc", "%00", 1, -1, 2**70, 1.5, True, None, [], {}, [1, [2]], {"a": {"b": None}}]


def q(text: str) -> str:
    """Percent-encode, lone surrogates included (as their UTF-8-ish bytes: hostile on purpose)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


#: Endpoints ServiceProviderConfig declares unsupported: 501 there is the RFC's answer, not a fault.
UNSUPPORTED = re.compile(r"^/scim/v2/(Bulk|Me|\.search)(/|\?|$)")


def junk(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.random()
    if depth < 3 and pick < 0.15:
        keys = ["userName", "value", "op", "path", "members", "active", "x", "\ud800"]
        return {rng.choice(keys): junk(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    if depth < 3 and pick < 0.25:
        return [junk(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return rng.choice(JUNK)


def fuzz_request(rng: random.Random, users: list[str], groups: list[str]) -> tuple[str, str, Any, dict[str, str]]:
    user = rng.choice([*users, "nope", "\ud800", "0" * 40, "%2e%2e"])
    group = rng.choice([*groups, "nope"])
    path = rng.choice([
        f"{SCIM}/Users", f"{SCIM}/Users/{q(user)}", f"{SCIM}/Groups", f"{SCIM}/Groups/{group}",
        f"{SCIM}/Users/.search", f"{SCIM}/Groups/.search", f"{SCIM}/.search", f"{SCIM}/Schemas/x",
        f"{SCIM}/ResourceTypes/User", f"{SCIM}/Bulk", f"{SCIM}/%ff%fe", f"{SCIM}/Users/a/b/c",
    ])
    if rng.random() < 0.4:
        path += "?" + "&".join(rng.sample([
            f"filter={q(rng.choice(FILTERS))}",
            f"startIndex={rng.choice(['0', '-5', 'x', '99999999999'])}",
            f"count={rng.choice(['0', '-1', 'a', '10000'])}", "attributes=%00", "excludedAttributes=members",
            f"sortBy={rng.choice(['userName', 'x.y', ''])}", "sortOrder=sideways"], rng.randint(1, 3)))
    method = rng.choice(["GET", "POST", "PUT", "PATCH", "DELETE"])
    shape = rng.random()
    if shape < 0.25:
        body: Any = user_body(f"fuzz.{rng.randrange(10**6)}@example.com", displayName=junk(rng))
        body[rng.choice(["userName", "name", "emails", "active", "groups", "schemas"])] = junk(rng)
    elif shape < 0.5:
        body = patch(*[{rng.choice(["op", "Op", "OP"]): rng.choice(["add", "Replace", "remove", "x", junk(rng)]),
                        rng.choice(["path", "Path"]): rng.choice(["active", "members", 'members[value eq "1"]',
                                                                  "name.givenName", "userName", "\ud800", junk(rng)]),
                        "value": junk(rng)} for _ in range(rng.randint(0, 4))])
    elif shape < 0.6:
        body = "[" * rng.choice([10, 2000]) + "]" * rng.choice([0, 10, 2000])
    elif shape < 0.7:
        body = rng.choice(['{"userName": "\\ud800"}', "{'a': 1}", "userName=x", "\x00\x01", "", "null", "true"])
    elif shape < 0.8:
        body = {"schemas": rng.choice([1, True, None, ["x"], "urn:ietf:params:scim:api:messages:2.0:SearchRequest"]),
                "filter": rng.choice(FILTERS), "startIndex": junk(rng)}
    else:
        body = junk(rng)
    headers = {}
    if rng.random() < 0.2:
        headers[rng.choice(["Content-Type", "Accept", "If-Match", "If-None-Match", "Content-Encoding"])] = \
            rng.choice(["text/html", "application/json; charset=latin-1", "*", "W/\"x\"", "gzip", "\u00e9"])
    return method, path, body, headers


def check_fuzz(site: Site, args) -> dict[str, Any]:
    rng = random.Random(args.seed)
    client = site.client()
    users = [json.loads(client.send("POST", f"{SCIM}/Users", user_body(f"fuzzbase{i}@example.com")).body)["id"]
             for i in range(5)]
    groups = [json.loads(client.send("POST", f"{SCIM}/Groups", {"schemas": [GROUP], "displayName": f"Fuzz {i}"}
                                     ).body)["id"] for i in range(2)]
    before = site.sql("SELECT count(*) FROM scim_portal_provisioninglog")[0][0]
    statuses: Counter = Counter()
    not_scim = errors = unsupported = 0
    examples: list[str] = []
    for _ in range(args.fuzz):
        method, path, body, headers = fuzz_request(rng, users, groups)
        try:
            answer = client.send(method, path, body, headers)
        except (OSError, http.client.HTTPException, UnicodeEncodeError) as exc:
            errors += 1
            examples.append(f"{method} {path[:60]}: {exc!r}"[:160])
            continue
        statuses[answer.status] += 1
        if answer.status == 501 and UNSUPPORTED.search(path) and is_scim_error(answer):
            unsupported += 1
            continue  # RFC 7644 3.12: 501 for what ServiceProviderConfig says is not supported
        if answer.status >= 500 or not scim_body_ok(answer):
            not_scim += answer.status < 500
            if len(examples) < 8:
                examples.append(f"{method} {path[:60]} -> {answer.status} {answer.body[:80]!r}")
    logged = site.sql("SELECT count(*) FROM scim_portal_provisioninglog")[0][0] - before
    fivexx = sum(n for s, n in statuses.items() if s >= 500) - unsupported
    return {"sent": args.fuzz, "5xx": fivexx, "501_unsupported": unsupported, "not_scim_body": not_scim,
            "transport_errors": errors,
            "logged": logged, "unlogged": args.fuzz - errors - logged, "statuses": dict(sorted(statuses.items())),
            "examples": examples, "ok": fivexx == 0 and not_scim == 0 and errors == 0 and logged >= args.fuzz - errors}


# -- race ---------------------------------------------------------------------------------------
def check_race(site: Site, args) -> dict[str, Any]:
    admin = site.client()
    created = json.loads(admin.send("POST", f"{SCIM}/Users", user_body("racer@example.com")).body)
    scim_id = created["id"]
    inconsistent = misreported = answered = 0
    clients = [site.client() for _ in range(16)]
    for round_no in range(args.rounds):
        wanted = [(i + round_no) % 2 == 0 for i in range(16)]

        def toggle(i: int, wanted: list[bool] = wanted) -> tuple[bool, Answer]:
            body = patch({"op": "replace", "value": {"active": wanted[i]}})
            return wanted[i], clients[i].send("PATCH", f"{SCIM}/Users/{scim_id}", body)

        for result in parallel(16, toggle):
            if isinstance(result, Exception):
                continue
            want, answer = result
            if answer.status == 200:
                answered += 1
                misreported += json.loads(answer.body).get("active") is not want
        scim_active = json.loads(admin.send("GET", f"{SCIM}/Users/{scim_id}").body)["active"]
        host_active = site.sql(
            "SELECT u.is_active FROM portal_user u JOIN scim_portal_scimuser s ON s.user_id = u.id "
            "WHERE s.scim_id::text = %s", (scim_id,))[0][0]
        inconsistent += scim_active is not host_active
    return {"rounds": args.rounds, "inconsistent_rounds": inconsistent, "answers_200": answered,
            "misreported_200": misreported, "ok": inconsistent == 0 and misreported == 0}


# -- outage -------------------------------------------------------------------------------------
def check_outage(site: Site, args) -> dict[str, Any]:
    statuses: Counter = Counter()
    bad: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()
    back_at: list[float] = []
    first_success_after: list[float] = []

    def writer(i: int) -> None:
        client = site.client()
        k = 0
        while not stop.is_set():
            k += 1
            try:
                answer = client.send("POST", f"{SCIM}/Users", user_body(f"outage.{i}.{k}@example.com"))
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    statuses["connection error"] += 1
                    bad.append(repr(exc)[:100])
                time.sleep(0.05)
                continue
            with lock:
                statuses[answer.status] += 1
                if answer.status == 503 and "retry-after" not in answer.headers:
                    bad.append("503 without Retry-After")
                elif answer.status != 503 and not 200 <= answer.status < 300:
                    bad.append(f"{answer.status} {answer.body[:80]!r}")
                if 200 <= answer.status < 300 and back_at and not first_success_after:
                    first_success_after.append(time.monotonic() - back_at[0])
            time.sleep(0.01)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    site.cluster.pause()
    time.sleep(args.outage_seconds)
    site.cluster.resume()
    back_at.append(time.monotonic())
    time.sleep(4)
    stop.set()
    for thread in threads:
        thread.join()
    total = sum(statuses.values())
    not_503 = sum(n for s, n in statuses.items() if s != 503 and not (isinstance(s, int) and 200 <= s < 300))
    return {"requests": total, "statuses": {str(k): v for k, v in statuses.items()}, "neither_2xx_nor_503": not_503,
            "first_success_after_restart_s": round(first_success_after[0], 2) if first_success_after else None,
            "examples": bad[:5], "ok": not_503 == 0 and bool(first_success_after)}


# -- secrets ------------------------------------------------------------------------------------
def check_secrets(site: Site, args) -> dict[str, Any]:
    made: list[str] = []

    def s() -> str:
        made.append(f"plant{secrets.token_hex(8)}")
        return made[-1]

    client = site.client()
    user = json.loads(client.send("POST", f"{SCIM}/Users", user_body("secrets@example.com", password=s())).body)
    path = f"{SCIM}/Users/{user['id']}"
    client.send("PUT", path, user_body("secrets@example.com", password=s()))
    client.send("PATCH", path, patch({"op": "replace", "path": "password", "value": s()}))
    client.send("PATCH", path, patch({"Op": "Replace", "Path": "Password", "Value": s()}))
    client.send("PATCH", path, patch({"op": "replace", "path": " password ", "value": s()}))
    client.send("PATCH", path, patch({"op": "replace", "value": {"Password": s()}}))
    client.send("PATCH", path, patch({"op": "add", "path": "PASSWORD", "value": s()}))
    client.send("PATCH", path, f"password={s()}")
    client.send("PATCH", path, "{'password': '" + s() + "'}")
    client.send("PATCH", path, '{"pass\\u0077ord": "' + s() + '"}')
    for name in ("access_token", "token", "bearer", "client_secret", "password"):
        client.send("GET", f"{SCIM}/Users?{name}={s()}")
    anonymous = site.client(token=None)
    anonymous.send("GET", f"{SCIM}/Users?access_token={s()}")
    anonymous.send("POST", f"{SCIM}/Users", f"access_token={s()}",
                   {"Content-Type": "application/x-www-form-urlencoded"})
    anonymous.send("GET", f"{SCIM}/Users", headers={"Authorization": f"Bearer {s()}"})
    anonymous.send("POST", f"{SCIM}/oauth/token/", f"grant_type=client_credentials&client_id=x&client_secret={s()}",
                   {"Content-Type": "application/x-www-form-urlencoded"})
    hits = scan(site, made)
    return {"planted": len(made), "found": len(hits), "where": hits[:10], "ok": not hits}


def scan(site: Site, needles: list[str]) -> list[str]:
    """Every text, JSON and bytes column of every table, searched for each needle."""
    columns = site.sql(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND data_type IN ('text', 'character varying', 'json', 'jsonb', 'bytea', 'character')")
    pattern = "|".join(needles)
    hits = []
    for table, column in columns:
        rows = site.sql(f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ~ %s', (pattern,))
        if rows[0][0]:
            hits.append(f"{table}.{column}: {rows[0][0]}")
    return hits


# -- unauthenticated ----------------------------------------------------------------------------
def check_unauthenticated(site: Site, args) -> dict[str, Any]:
    query = "SELECT coalesce(sum(pg_column_size(l.*)), 0), count(*) FROM scim_portal_provisioninglog l"
    size_before, rows_before = site.sql(query)[0]
    client = site.client(token="not-a-token")
    statuses: Counter = Counter()
    body = {"schemas": [USER], "userName": "x" * 8000, "padding": "y" * 8000}
    for i in range(args.unauthenticated):
        with contextlib.suppress(OSError, http.client.HTTPException):
            statuses[client.send("POST", f"{SCIM}/Users?n={i}", body).status] += 1
    size_after, rows_after = site.sql(query)[0]
    per_thousand = (size_after - size_before) * 1000 / max(args.unauthenticated, 1)
    return {"requests": args.unauthenticated, "statuses": dict(statuses), "rows": rows_after - rows_before,
            "bytes_per_1000": int(per_thousand), "ok": per_thousand < 1_000_000}


# -- rate limit ---------------------------------------------------------------------------------
def hammer(site: Site, servers: list[Server], seconds: float) -> Counter:
    statuses: Counter = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run(i: int) -> None:
        client = site.client(servers[i % len(servers)])
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, http.client.HTTPException):
                status = client.send("GET", f"{SCIM}/Users?count=1").status
                with lock:
                    statuses[status] += 1

    parallel(8, run)
    return statuses


def check_rate(cluster, dbs: Databases, out: Path, args) -> dict[str, Any]:
    limit = args.rate_limit
    results: dict[str, Any] = {}
    caches = {"database": {"BENCH_CACHE": "database"}}
    redis = start_redis()
    if redis is not None:
        caches["redis"] = {"BENCH_CACHE": f"unix://{redis[1]}"}
    try:
        for name, env in caches.items():
            site = Site(cluster, dbs, f"deployed_rate_{name}", out, args,
                        env={**env, "BENCH_RATE_LIMIT": f"{limit}/min"})
            try:
                if name == "database":
                    subprocess.run([sys.executable, "-m", "django", "createcachetable"], check=True, cwd=ROOT,
                                   env={**system_env("scim_portal", site.url), "DJANGO_SETTINGS_MODULE": SETTINGS,
                                        **site.env}, capture_output=True)
                servers = [site.serve(workers=2), site.serve(workers=2)]
                started = time.time()
                statuses = hammer(site, servers, args.rate_seconds)
                # The limit counts in fixed windows of the clock's minutes: a run that straddles
                # a minute boundary is allowed the limit in each window it touched.
                minute_windows = int(time.time() // 60) - int(started // 60) + 1
                results[name] = {"admitted": statuses.get(200, 0), "allowed": limit * minute_windows,
                                 "refused_429": statuses.get(429, 0), "other": {
                                     str(k): v for k, v in statuses.items() if k not in (200, 429)}}
            finally:
                site.stop()
    finally:
        if redis is not None:
            redis[0].terminate()
            redis[0].wait()
            shutil.rmtree(redis[2], ignore_errors=True)
    if redis is None:
        results["redis"] = "skipped: redis-server is not installed"
    measured = [r for r in results.values() if isinstance(r, dict)]
    results["ok"] = all(r["admitted"] <= r["allowed"] and not r["other"] for r in measured)
    return results


def start_redis() -> tuple[subprocess.Popen, Path, Path] | None:
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    home = Path(tempfile.mkdtemp(prefix="scim-portal-redis-"))
    sock = home / "redis.sock"
    proc = subprocess.Popen([binary, "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no",
                             "--dir", str(home)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if sock.exists():
            return proc, sock, home
        time.sleep(0.05)
    proc.terminate()
    raise RuntimeError("redis-server did not start")


#: The outage goes last: it stops the cluster every other check shares.
CHECKS = ("fuzz", "race", "secrets", "unauthenticated", "rate", "outage")


def parse_args(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(CHECKS))
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--fuzz", type=int, default=5000, help="fuzzed requests")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=80, help="race rounds of 16 toggles")
    parser.add_argument("--outage-seconds", type=float, default=10.0)
    parser.add_argument("--unauthenticated", type=int, default=1000)
    parser.add_argument("--rate-limit", type=int, default=300, help="requests per minute per credential")
    parser.add_argument("--rate-seconds", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    if args.smoke:
        args.fuzz, args.rounds, args.outage_seconds, args.unauthenticated, args.rate_seconds = 300, 5, 3, 200, 5
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from tests.pgcluster import start_cluster

    out = args.out or Path(tempfile.mkdtemp(prefix="scim-portal-deployed-"))
    cluster = start_cluster()
    dbs = Databases(cluster)
    args.template = dbs.template("scim_portal")
    report: dict[str, Any] = {}
    wanted = [c for c in CHECKS if c in args.only.split(",")]
    try:
        for check in wanted:
            began = time.monotonic()
            if check == "rate":
                report[check] = check_rate(cluster, dbs, out, args)
            else:
                site = Site(cluster, dbs, f"deployed_{check}_{uuid.uuid4().hex[:6]}", out, args)
                try:
                    site.serve()
                    report[check] = globals()[f"check_{check}"](site, args)
                finally:
                    site.stop()
            log(f"{check} ({time.monotonic() - began:.0f} s): {json.dumps(report[check], default=str)}")
    finally:
        dbs.admin.close()
        cluster.stop()
    print(json.dumps(report, indent=2, default=str))
    failed = [c for c, r in report.items() if not r.get("ok")]
    if failed:
        log(f"DEFECTS in: {', '.join(failed)} (server logs in {out})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
