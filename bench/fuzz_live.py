"""Fuzz the example portal as deployed and count what the issue asks (issue #11 item 2).

gunicorn (3 workers x 4 threads, DEBUG off) on a throwaway PostgreSQL cluster; the fuzzed
requests are tests/test_fuzz.py's strategies, sent over HTTP from 127.0.0.1.  Prints the
requests sent, answers with a 5xx, answers without a SCIM body, and requests without a
provisioning-log row.  Request lines over gunicorn's 4094-byte limit are not sent: gunicorn
refuses them itself (414) before the app sees them.  Exits 1 if any of the last three is not zero.

    python bench/fuzz_live.py --requests 2000
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "example_project")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()

    from tests.liveserver import Gunicorn, portal_env, prepare
    from tests.pgcluster import start_cluster

    cluster = start_cluster()
    cluster.createdb("fuzz")
    env = portal_env(cluster.url("fuzz"), {"UNAUTHENTICATED_RATE_LIMIT": None, "MAX_BODY_BYTES": 65536})
    token = prepare(env)
    os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "PORTAL_DEBUG",
                                           "SCIM_PORTAL_LIVE")})
    import django

    django.setup()
    from hypothesis import HealthCheck, assume, given, settings

    from scim_portal.models import ProvisioningLog, ScimGroup, ScimUser
    from tests import test_fuzz as fuzz

    server = Gunicorn(env, Path(tempfile.mkdtemp()) / "gunicorn.log", workers=3, threads=4)
    tally: Counter[str] = Counter()
    samples: list[str] = []
    try:
        ids = {"user": "", "group": ""}
        created = send(server.port, "POST", "/scim/v2/Users", json.dumps(
            {"schemas": [fuzz.USER], "userName": "fuzz@example.com"}).encode(), "application/scim+json", {}, token)
        ids["user"] = json.loads(created[2])["id"]
        created = send(server.port, "POST", "/scim/v2/Groups", json.dumps(
            {"schemas": [fuzz.GROUP], "displayName": "Fuzz", "members": [{"value": ids["user"]}]}).encode(),
            "application/scim+json", {}, token)
        ids["group"] = json.loads(created[2])["id"]
        before = ProvisioningLog.objects.count()

        @settings(max_examples=args.requests, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(method=fuzz.methods, segment=fuzz.segments, query=fuzz.queries, body=fuzz.bodies,
               content_type=fuzz.content_types, extra=fuzz.headers, credential=fuzz.credentials)
        def one(method, segment, query, body, content_type, extra, credential):
            query_string = urlencode(query, encoding="utf-8", errors="surrogatepass")
            path = "/scim/v2/" + segment.format(**ids) + ("?" + query_string if query else "")
            assume(len(path) < 4000)  # gunicorn's limit_request_line: longer lines never reach the app
            bearer = {"valid": token, "junk": "scim_" + "x" * 40}.get(credential)
            status, headers, content = send(server.port, method, path, body, content_type, extra, bearer)
            tally["requests"] += 1
            tally["sent to the app"] += 1
            # 501 is the RFC 7644 3.2 answer for what we do not offer (/Bulk, /Me, POST /.search).
            tally["501 (not offered: Bulk, Me, root .search)" if status == 501 else f"{status // 100}xx"] += 1
            if status >= 500 and status != 501 and len(samples) < 8:
                samples.append(f"{method} {path[:100]!r} {extra} {content_type!r} {body[:60]!r} -> {status} "
                               f"{content[:200]!r}")
            if not scim_answer(status, headers, content, method):
                tally["not a SCIM answer"] += 1
                if len(samples) < 8:
                    samples.append(f"{method} {path[:80]!r} {extra} -> {status} {content[:80]!r}")

        one()
        tally["log rows"] = ProvisioningLog.objects.count() - before
        tally["users"], tally["groups"] = ScimUser.objects.count(), ScimGroup.objects.count()
    finally:
        server.stop()
        cluster.stop()
    missing = tally["sent to the app"] - tally["log rows"]
    print(json.dumps({**tally, "requests without a log row": missing}, indent=2))
    print("\n".join(samples))
    return 1 if tally["5xx"] or tally["not a SCIM answer"] or missing else 0


def send(port, method, path, body, content_type, extra, bearer):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {**extra, "Content-Type": content_type} if content_type else dict(extra)
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    try:
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def scim_answer(status: int, headers: dict[str, str], content: bytes, method: str) -> bool:
    if not content:
        return status in (204, 304) or method == "HEAD"
    if not headers.get("Content-Type", "").startswith("application/scim+json"):
        return False
    try:
        body = json.loads(content)
    except ValueError:
        return False
    return status < 400 or (body.get("schemas") == [fuzz_error()] and body.get("status") == str(status))


def fuzz_error() -> str:
    return "urn:ietf:params:scim:api:messages:2.0:Error"


if __name__ == "__main__":
    sys.exit(main())
