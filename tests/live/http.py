"""Helpers for the live-server suites: a real HTTP client against ``live_server``, and the
HTML forms a browser would submit (hidden inputs, CSRF token included)."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import httpx2

SCIM_JSON = "application/scim+json"


class HiddenInputs(HTMLParser):
    """The hidden inputs of a page's forms, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "input" and attributes.get("type") == "hidden" and attributes.get("name"):
            self.values[str(attributes["name"])] = attributes.get("value") or ""


def hidden_inputs(html: str) -> dict[str, str]:
    parser = HiddenInputs()
    parser.feed(html)
    return parser.values


def client(base_url: str, **kwargs: Any) -> httpx2.Client:
    """A client that keeps cookies like a browser and never follows redirects by itself."""
    return httpx2.Client(base_url=base_url, follow_redirects=False, timeout=30, **kwargs)


def scim(base_url: str, token: str | None) -> httpx2.Client:
    """A SCIM client: JSON bodies as ``application/scim+json``, the token as a bearer."""
    headers = {"Accept": SCIM_JSON, "Content-Type": SCIM_JSON}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client(f"{base_url}/scim/v2/", headers=headers)


def log_in(browser: httpx2.Client, username: str, password: str, next_url: str) -> None:
    """Log in through the admin login form (LOGIN_URL), CSRF cookie and token included."""
    page = browser.get("/admin/login/", params={"next": next_url})
    assert page.status_code == 200, page.text
    form = {**hidden_inputs(page.text), "username": username, "password": password, "next": next_url}
    response = browser.post("/admin/login/", data=form)
    assert response.status_code == 302, response.text
    assert "sessionid" in browser.cookies
