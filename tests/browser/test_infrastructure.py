"""The browser fixtures themselves: a real login, a real page, a real PNG."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_page_is_logged_in_and_the_orm_still_works(admin_page, shot):
    admin_page.goto("/admin/")
    assert admin_page.locator("#user-tools").is_visible()
    # The test thread queries the database while Playwright's loop is set.
    assert get_user_model().objects.filter(is_superuser=True).count() == 1
    path = shot(admin_page, "admin-index")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_wrong_password_stays_on_the_login_page(browser, live_server, admin_user):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.goto("/admin/login/")
    page.fill("#id_username", admin_user.email)
    page.fill("#id_password", "not-the-password")
    page.click("input[type=submit]")
    assert page.locator(".errornote").is_visible()
    context.close()
