"""Browser fixtures: Debian's Chromium driven by Playwright's sync API over pytest-django's live server.

``browser`` (one Chromium per session), ``admin_page`` (a 1400x900 page logged in
to the Django admin as a fresh superuser) and ``shot`` (``shot(page, name)``
saves a PNG and returns its path).  The tests skip, saying why, when
``/usr/bin/chromium`` or the ``playwright`` package is missing; ``.ci/run``
installs both.  Playwright's own browser download is never used.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 900}
ADMIN_PASSWORD = "browser-admin-password"

# Playwright's sync API drives its connection from an asyncio loop that it marks
# as running in this thread, so Django's guard against ORM calls from async code
# (SynchronousOnlyOperation) would refuse the test's own database queries.  The
# test code is plain synchronous code; only Playwright's loop makes it look async.
# Without such a loop (every other test) the variable changes nothing.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is a ``browser`` test on a live server (its own committed data)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def missing_browser() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session."""
    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def admin_user(transactional_db) -> Any:
    """A superuser that can log in to the admin with ``ADMIN_PASSWORD``."""
    user_model = get_user_model()
    login = "browser-admin@example.com"
    fields = {user_model.USERNAME_FIELD: login}
    email_field = user_model.get_email_field_name()
    if email_field != user_model.USERNAME_FIELD:
        fields[email_field] = login
    return user_model._default_manager.create_superuser(password=ADMIN_PASSWORD, **fields)


@pytest.fixture
def admin_page(browser, live_server, admin_user) -> Iterator[Any]:
    """A page logged in to the Django admin of the live server (``page.live_url`` is its root)."""
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", getattr(admin_user, admin_user.USERNAME_FIELD))
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    page.live_url = live_server.url
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """Where ``shot`` writes: ``$SCIM_PORTAL_SCREENSHOTS`` or a fresh temporary folder."""
    folder = os.environ.get("SCIM_PORTAL_SCREENSHOTS") or tempfile.mkdtemp(prefix="scim-portal-screens-")
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def shot(screenshot_dir) -> Callable[..., Path]:
    """``shot(page, name, **options)`` saves ``<name>.png`` (options go to ``page.screenshot``)."""

    def take(page: Any, name: str, **options: Any) -> Path:
        target = screenshot_dir / f"{name}.png"
        page.screenshot(path=str(target), **options)
        return target

    return take
