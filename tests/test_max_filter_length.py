"""``SCIM_PORTAL["MAX_FILTER_LENGTH"]`` is read for each request (docs/settings.md)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def long_filter(length: int) -> str:
    head = 'userName eq "'
    return head + "x" * (length - len(head) - 1) + '"'


def test_a_filter_longer_than_the_setting_is_invalid_filter(settings, scim):
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "MAX_FILTER_LENGTH": 100}
    ok = scim.get(f"Users?filter={long_filter(100)}")
    assert ok.status_code == 200, ok.json_body
    refused = scim.get(f"Users?filter={long_filter(101)}")
    assert refused.status_code == 400
    assert refused.json_body["scimType"] == "invalidFilter"
    assert "100" in refused.json_body["detail"]


def test_a_longer_setting_admits_longer_filters(settings, scim):
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "MAX_FILTER_LENGTH": 8000}
    response = scim.get(f"Users?filter={long_filter(6000)}")
    assert response.status_code == 200, response.json_body
    assert response.json_body["totalResults"] == 0


def test_attribute_lists_follow_the_setting(settings, scim):
    settings.SCIM_PORTAL = {**settings.SCIM_PORTAL, "MAX_FILTER_LENGTH": 50}
    assert scim.get("Users?attributes=userName").status_code == 200
    refused = scim.get("Users?attributes=" + ",".join(["userName"] * 10))
    assert refused.status_code == 400
