"""A bounded, sequential, keep-alive HTTP client for 127.0.0.1 only, and the per-phase statistics."""

from __future__ import annotations

import contextlib
import http.client
import json
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.phases import Ctx, Phase, Req

LOOPBACK = "127.0.0.1"


@dataclass
class Sample:
    status: int
    seconds: float
    queries: int | None
    expected: bool
    #: ``Server-Timing`` durations (ms) by name, when the server sends them.
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class PhaseResult:
    phase: str
    samples: list[Sample] = field(default_factory=list)
    capped: bool = False

    def summary(self) -> dict[str, Any]:
        times = sorted(s.seconds for s in self.samples)
        queries = [s.queries for s in self.samples if s.queries is not None]
        statuses = Counter(s.status for s in self.samples)
        names = sorted({name for s in self.samples for name in s.timings})
        server_ms = {name: round(statistics.median([s.timings[name] for s in self.samples if name in s.timings]), 3)
                     for name in names}
        return {
            "phase": self.phase,
            "requests": len(times),
            "p50_ms": round(percentile(times, 50) * 1000, 2) if times else None,
            "p95_ms": round(percentile(times, 95) * 1000, 2) if times else None,
            "mean_ms": round(statistics.fmean(times) * 1000, 2) if times else None,
            # Sequential client: throughput is requests over the time spent in them.
            "rps": round(len(times) / sum(times), 1) if times else None,
            "queries": statistics.median(queries) if queries else None,
            "queries_max": max(queries) if queries else None,
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "unexpected": sum(1 for s in self.samples if not s.expected),
            "capped": self.capped,
            "server_timing_ms": server_ms,
        }


def server_timing(header: str) -> dict[str, float]:
    """``auth;dur=0.41, log;dur=0.35`` -> ``{"auth": 0.41, "log": 0.35}`` (other parameters ignored)."""
    out: dict[str, float] = {}
    for metric in filter(None, (m.strip() for m in header.split(","))):
        name, *params = (p.strip() for p in metric.split(";"))
        for param in params:
            key, _sep, value = param.partition("=")
            if key == "dur":
                with contextlib.suppress(ValueError):
                    out[name] = float(value)
    return out


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, round(pct / 100 * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class Client:
    def __init__(self, port: int, headers: dict[str, str], timeout: float = 120.0):
        self.port = port
        self.headers = headers
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def connect(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=self.timeout)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def send(self, req: Req) -> tuple[int, float, int | None, bytes, dict[str, float]]:
        body = json.dumps(req.body).encode() if req.body is not None else None
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Length"] = str(len(body))
        for attempt in (1, 2):  # a keep-alive connection the server closed is reopened once
            conn = self.connect()
            started = time.perf_counter()
            try:
                conn.request(req.method, req.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.CannotSendRequest):
                self.close()
                if attempt == 2:
                    raise
                continue
            elapsed = time.perf_counter() - started
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            count = response.getheader("X-Query-Count")
            timings = server_timing(response.getheader("Server-Timing", ""))
            return response.status, elapsed, int(count) if count else None, data, timings
        raise AssertionError("unreachable")


@dataclass
class Lane:
    """One system's side of an interleaved run: its client, what it knows, its results."""

    client: Client
    ctx: Ctx
    #: Seconds this system has spent answering the current step (its time cap counts these).
    spent: float = 0.0
    results: dict[str, PhaseResult] = field(default_factory=dict)


def run_step(lanes: list[Lane], step: Phase, *, requests: int, seconds: float, first: int = 0,
             log=None) -> None:
    """Run a step against every system, one after the other, starting with ``lanes[first]``.

    Each system gets up to ``requests`` rounds back to back (a server under an IdP's load
    answers request after request, with its caches warm), and stops early once its own
    requests took ``seconds`` in all, per pair of phases in the step (marked capped).  The systems take turns step by
    step, so a change in the machine's load reaches them seconds apart, not minutes;
    rotating ``first`` from step to step spreads what is left of it.
    """
    for lane in lanes[first % len(lanes):] + lanes[:first % len(lanes)]:
        lane.spent = 0.0
        lane.results = {name: PhaseResult(name) for name in step.names}
        for k in range(requests):
            if lane.spent > seconds * max(1, len(step.names) // 2):  # a pair shares one cap
                for result in lane.results.values():
                    result.capped = True
                break
            for name, req in step.requests(lane.ctx, k):
                status, elapsed, queries, data, timings = lane.client.send(req)
                lane.spent += elapsed
                ok = status in req.expect and (req.must_contain is None or req.must_contain.encode() in data)
                samples = lane.results[name].samples
                samples.append(Sample(status, elapsed, queries, ok, timings))
                if not ok and log is not None and sum(not s.expected for s in samples) <= 2:
                    log(f"    {lane.ctx.system} {name}: {req.method} {req.path[:90]} -> {status} {data[:300]!r}")


def warm_up(client: Client, ctx: Ctx, builders, rounds: int = 5) -> None:
    for k in range(rounds):
        for build in builders:
            client.send(build(ctx, k))
