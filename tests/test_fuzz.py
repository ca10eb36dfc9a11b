"""Fuzzing every endpoint over the full request surface (issue #11 item 2): random methods,
paths, query strings, headers, credentials and bodies (JSON of every shape, unicode with lone
surrogates, deep nesting, sizes around the limits, bytes that are not JSON).

For every request: no 5xx (but the 501 of /Bulk and /Me); a SCIM error body on every error
and JSON on every other answer with a body; exactly one provisioning-log row, carrying the answer's ``X-Request-ID``.
Bounded (a few hundred examples), so it takes seconds per database.
"""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from scim_portal.models import IdentityProvider, ProvisioningLog
from tests.conftest import ScimClient
from tests.protocol import ENTERPRISE, ERROR, GROUP, PATCH_OP, SEARCH, USER, create_group, create_user

pytestmark = pytest.mark.django_db

FUZZ = settings(max_examples=250, deadline=None, derandomize=True,
                phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

# --- text: every kind of unicode, lone surrogates included ----------------------------------------

SPECIALS = ["\ud800", "\udfff", "\ud83d\ude00", "\x00", "\u200b", "\ufeff", "\uff21", "e\u0301", "\u202e", "\\", '"',
            "%", "%00", "%ED%A0%80", "../", "\n", " ", "", "urn:", "[", "]"]
texts = st.one_of(
    st.text(max_size=20),
    st.text(alphabet=st.characters(codec=None, categories=None), max_size=12),  # surrogates included
    st.sampled_from(SPECIALS),
    st.lists(st.sampled_from(SPECIALS), min_size=1, max_size=4).map("".join),
    st.integers(min_value=0, max_value=70_000).map(lambda n: "x" * n),  # around the string limits
)
names = st.one_of(
    st.sampled_from(["userName", "displayName", "members", "emails", "active", "name", "externalId", "id",
                     "schemas", "Operations", "op", "path", "value", "password", "groups", "meta", ENTERPRISE,
                     "startIndex", "count", "filter", "attributes", "excludedAttributes", "sortBy"]),
    texts,
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                    texts)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(names, inner, max_size=4)), max_leaves=10)


def dumps(value) -> bytes:
    """JSON text; lone surrogates are written as ``\\ud800`` escapes, as a client would send them."""
    return json.dumps(value, allow_nan=True).encode("ascii")


shaped = st.one_of(
    st.fixed_dictionaries({"schemas": st.sampled_from([[USER], [GROUP], [PATCH_OP], [SEARCH], 1, True, None])},
                          optional={"userName": values, "displayName": values, "members": values,
                                    "Operations": st.lists(st.dictionaries(names, values, max_size=3), max_size=3),
                                    "filter": texts, "active": values, "emails": values}),
    values,
)
bodies = st.one_of(
    shaped.map(dumps),
    st.integers(min_value=1, max_value=3000).map(lambda n: b"[" * n + b"]" * n),  # nesting
    st.integers(min_value=1, max_value=3000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.binary(max_size=64),  # not JSON, not UTF-8
    st.sampled_from([b"", b"access_token=secret&x=1", b"{'single': 'quotes'}", b'{"pass\\u0077ord": "x"}',
                     b"\xef\xbb\xbf{}", b"null", b'"\\ud800"']),
)

# --- the rest of a request ----------------------------------------------------------------------

segments = st.one_of(
    st.sampled_from(["Users", "Groups", "Users/.search", "Groups/.search", ".search", "Bulk", "Me", "Schemas",
                     "ResourceTypes", "ServiceProviderConfig", "Schemas/" + USER, "ResourceTypes/User", "",
                     "{user}", "{group}", "Users/{user}", "Groups/{group}", "Users/{group}", "Groups/{user}",
                     "Users/00000000-0000-0000-0000-000000000000", "Users/a/b", "oauth/nowhere"]),
    texts.map(lambda t: quote(t.encode("utf-8", "surrogatepass"), safe="/")),
)
queries = st.dictionaries(
    st.sampled_from(["filter", "attributes", "excludedAttributes", "startIndex", "count", "sortBy", "sortOrder",
                     "access_token", "x"]),
    st.one_of(texts, st.sampled_from(['userName eq "a"', "id pr", "not (id pr)", "members.value pr",
                                      "meta.resourceType pr", 'emails[type eq "work"].value co "@"', "-1",
                                      "99999999999999999999", "members", "descending"])),
    max_size=3,
)
header_values = st.one_of(st.text(alphabet=st.characters(max_codepoint=255, blacklist_categories=["Cc"]),
                                  max_size=30), st.sampled_from(['W/"1"', "*", "application/json", "text/plain"]))
headers = st.dictionaries(st.sampled_from(["If-Match", "If-None-Match", "Accept", "X-Forwarded-For"]),
                          header_values, max_size=3)
content_types = st.sampled_from(["application/scim+json", "application/json", "text/plain",
                                 "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                 "application/scim+json; charset=latin-1", ""])
credentials = st.sampled_from(["valid", "valid", "valid", "none", "junk", "basic"])
methods = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])


@pytest.fixture
def target(make_integration, scim_for, settings):
    # Every request leaves its row here, successful reads included (not only the sampled ones).
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "MAX_BODY_BYTES": 64 * 1024,
                            "UNAUTHENTICATED_RATE_LIMIT": None, "LOG_READS": "all"}
    client = scim_for(make_integration(IdentityProvider.ENTRA))
    user = create_user(client, "fuzz@example.com", name={"givenName": "F", "familyName": "Z"})
    group = create_group(client, "Fuzz", members=[user["id"]])
    return client, {"user": user["id"], "group": group["id"]}


def send(client: ScimClient, method: str, path: str, body: bytes, content_type: str, extra: dict[str, str],
         credential: str):
    http = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in extra.items()}
    if credential == "valid":
        http["HTTP_AUTHORIZATION"] = f"Bearer {client.token}"
    elif credential == "junk":
        http["HTTP_AUTHORIZATION"] = "Bearer scim_" + "x" * 40
    elif credential == "basic":
        http["HTTP_AUTHORIZATION"] = "Basic Zm9vOmJhcg=="
    return client.client.generic(method, path, data=body, content_type=content_type, **http)


def assert_scim_answer(response, method: str) -> None:
    # 501 is RFC 7644 3.2's answer for what we do not offer (/Bulk, /Me, POST /.search); no other 5xx.
    assert response.status_code < 500 or response.status_code == 501, (response.status_code, response.content[:500])
    if not response.content:
        assert response.status_code in (204, 304) or method == "HEAD", response.status_code
        return
    assert response["Content-Type"].startswith("application/scim+json"), response["Content-Type"]
    body = json.loads(response.content)
    if response.status_code >= 400:
        assert body["schemas"] == [ERROR], body
        assert body["status"] == str(response.status_code)
        assert isinstance(body["detail"], str) and body["detail"]


@FUZZ
@given(method=methods, segment=segments, query=queries, body=bodies, content_type=content_types,
       extra=headers, credential=credentials)
def test_fuzzed_requests_get_scim_answers_and_are_logged(target, method, segment, query, body, content_type,
                                                        extra, credential):
    client, ids = target
    query_string = urlencode(query, encoding="utf-8", errors="surrogatepass")  # bytes that are not UTF-8
    path = "/scim/v2/" + segment.format(**ids) + ("?" + query_string if query else "")
    logged = ProvisioningLog.objects.count()
    response = send(client, method, path, body, content_type, extra, credential)
    assert_scim_answer(response, method)
    assert ProvisioningLog.objects.count() == logged + 1
    row = ProvisioningLog.objects.order_by("-pk").first()
    assert row.request_id == response["X-Request-ID"] and row.status == response.status_code
