"""The attribute map's overlay: host values over the stored document, the document left as it is."""

from __future__ import annotations

import copy
from types import SimpleNamespace

from scim_portal.mapping import AttributeMap

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

MAP = AttributeMap({
    "name.givenName": "first_name",
    "name.familyName": "last_name",
    "emails": "email",
    "active": "is_active",
    f"{ENTERPRISE}:department": "department",
})


def stored() -> dict:
    return {
        "userName": "ann@example.com",
        "name": {"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"},
        "emails": [{"value": "ann@example.com", "type": "work", "primary": True},
                   {"value": "ann@home.example", "type": "home"}],
        "active": True,
        ENTERPRISE: {"department": "Sales", "employeeNumber": "7"},
        "phoneNumbers": [{"value": "+1 555", "type": "work"}],
    }


def host(**changes) -> SimpleNamespace:
    values = {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com", "is_active": True,
              "department": "Sales"}
    return SimpleNamespace(**(values | changes))


def test_host_values_win_and_the_stored_document_is_not_changed():
    document = stored()
    before = copy.deepcopy(document)
    result = MAP.overlay(document, host(last_name="Lee-Smith", email="ann.lee@example.com",
                                        is_active=False, department="Support"))
    assert document == before
    assert result["name"] == {"givenName": "Ann", "familyName": "Lee-Smith", "formatted": "Ann Lee"}
    assert result["emails"][0] == {"value": "ann.lee@example.com", "type": "work", "primary": True}
    assert result["emails"][1] == before["emails"][1]
    assert result["active"] is False
    assert result[ENTERPRISE] == {"department": "Support", "employeeNumber": "7"}


def test_what_the_host_does_not_change_is_the_same_as_stored():
    document = stored()
    result = MAP.overlay(document, host(first_name="Anne"))
    assert result == {**stored(), "name": {**stored()["name"], "givenName": "Anne"}}
    assert result["name"] is not document["name"]  # written: a copy
    assert result["phoneNumbers"] is document["phoneNumbers"]  # never written: shared, not copied
    assert result["emails"] is document["emails"]


def test_an_empty_host_value_does_not_invent_an_attribute():
    document = {"userName": "bo@example.com"}
    result = MAP.overlay(document, host(first_name="", last_name="", email="", department=""))
    assert "name" not in result and "emails" not in result and ENTERPRISE not in result
    assert document == {"userName": "bo@example.com"}


def test_a_host_value_the_document_lacks_is_added_without_touching_it():
    document = {"userName": "cy@example.com"}
    result = MAP.overlay(document, host(first_name="Cy", last_name="Do", email="cy@example.com"))
    assert result["name"] == {"givenName": "Cy", "familyName": "Do"}
    assert result["emails"] == [{"value": "cy@example.com", "type": "work", "primary": True}]
    assert result[ENTERPRISE] == {"department": "Sales"}
    assert document == {"userName": "cy@example.com"}
