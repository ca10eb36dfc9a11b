"""Factory-style fixtures: ``integration``, ``token``, ``scim`` (a client speaking
SCIM JSON with that token), and ``make_integration`` for multi-tenant tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.test import Client

from scim_portal.models import IdentityProvider, Integration, ScimToken

SCIM_JSON = "application/scim+json"
BASE = "/scim/v2"


def test_host() -> str:
    """Which host the suite runs in: ``portal`` (the example portal) or one of tests/hosts/."""
    return getattr(settings, "SCIM_PORTAL_TEST_HOST", "portal")


test_host.__test__ = False  # type: ignore[attr-defined]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "portal: needs the example portal's user model or adapter (skipped in tests/hosts/)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``portal`` need the example portal's user model or adapter."""
    if test_host() == "portal":
        return
    skip = pytest.mark.skip(reason=f"needs the example portal (this run: host {test_host()!r})")
    for item in items:
        if item.get_closest_marker("portal"):
            item.add_marker(skip)


def make_host_user(name: str, **fields: Any) -> Any:
    """A portal user in any host: ``name`` is the login (an email) and the email."""
    User = get_user_model()
    values = {"email": name, User.USERNAME_FIELD: name, **fields}
    return User.objects.create_user(**values)


class ScimClient:
    """A test client that sends SCIM JSON with a bearer token and decodes replies."""

    def __init__(self, token: str | None):
        self.client = Client()
        self.token = token

    def request(self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None,
                raw: bytes | str | None = None, content_type: str = SCIM_JSON):
        extra = {}
        if self.token is not None:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        for name, value in (headers or {}).items():
            extra["HTTP_" + name.upper().replace("-", "_")] = value
        url = path if path.startswith("/") else f"{BASE}/{path}"
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        call = getattr(self.client, method.lower())
        response = call(url, **extra) if data is None else call(url, data=data, content_type=content_type, **extra)
        response.json_body = json.loads(response.content) if response.content else None
        return response

    def get(self, path: str, **kw):
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path: str, **kw):
        return self.request("DELETE", path, **kw)


@pytest.fixture(autouse=True)
def fresh_rate_counters():
    """Each test starts with no counted requests (the refusal limit is on by default)."""
    from django.core.cache import caches

    caches["default"].clear()


@pytest.fixture
def make_integration(db) -> Callable[..., Integration]:
    counter = {"n": 0}

    def make(provider: str = IdentityProvider.OKTA, **fields: Any) -> Integration:
        counter["n"] += 1
        n = counter["n"]
        service = make_host_user(f"scim-service-{n}@example.com")
        defaults = {"name": f"IdP {n}", "slug": f"idp-{n}", "provider": provider,
                    "service_account": service}
        defaults.update(fields)
        return Integration.objects.create(**defaults)

    return make


@pytest.fixture
def integration(make_integration) -> Integration:
    return make_integration(IdentityProvider.OKTA)


@pytest.fixture
def token(integration) -> str:
    return ScimToken.issue(integration, description="test").raw


@pytest.fixture
def scim(token) -> ScimClient:
    return ScimClient(token)


@pytest.fixture
def scim_for(db) -> Callable[[Integration], ScimClient]:
    def make(integration: Integration) -> ScimClient:
        return ScimClient(ScimToken.issue(integration).raw)

    return make


@pytest.fixture
def generic(make_integration, scim_for) -> ScimClient:
    """A SCIM client of a generic (RFC-only) integration."""
    return scim_for(make_integration(IdentityProvider.GENERIC))


@pytest.fixture
def entra(make_integration, scim_for) -> ScimClient:
    """A SCIM client of a Microsoft Entra ID integration."""
    return scim_for(make_integration(IdentityProvider.ENTRA))


def at_once(token: str, requests: list[Callable[[ScimClient], Any]]) -> list[Any]:
    """Run each request (a function of a SCIM client) from its own thread, client and database
    connection, all released at once by a barrier; their answers, in order (``None`` for one
    that raised)."""
    barrier = threading.Barrier(len(requests))
    answers: list[Any] = [None] * len(requests)

    def worker(i: int) -> None:
        client = ScimClient(token)
        barrier.wait()
        try:
            answers[i] = requests[i](client)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def parallel_posts(token: str, bodies: list[dict[str, Any]], path: str = "Users") -> list[int]:
    """POST each body at once (:func:`at_once`); the statuses, 0 for a request that raised."""
    answers = at_once(token, [lambda client, body=body: client.post(path, body) for body in bodies])
    return [getattr(answer, "status_code", 0) for answer in answers]


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"
