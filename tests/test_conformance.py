"""scim2-tester, a public SCIM conformance checker, run against the example
portal served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from scim_portal.models import IdentityProvider, ScimToken

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def email_login() -> bool:
    from django.contrib.auth import get_user_model
    from django.db.models import EmailField

    User = get_user_model()
    return isinstance(User._meta.get_field(User.USERNAME_FIELD), EmailField)


# The checker creates users with a UUID as userName and no email: a portal that signs people
# in by email refuses them (400 invalidValue), so the check runs in the stock-auth.User host
# of tests/hosts/ (scripts/test.sh), whose login is a username.
pytestmark.append(pytest.mark.skipif(email_login(), reason="the checker's userNames are not emails"))

#: Known, documented deviations: (check, resource type, text of its finding) -> why.  Each has a
#: line in docs/protocol.md; every other check must pass (a skip is a finding too).
DEVIATIONS: dict[tuple[str, str, str], str] = {
    ("search_with_attributes", rtype, "POST /.search"): (
        "POST /.search across resource types is optional (RFC 7644 3.4.3) and not offered: "
        "/Users/.search and /Groups/.search are"
    )
    for rtype in ("User", "Group")
}


def known_deviation(result) -> bool:
    return any(
        result.title == title and result.resource_type == rtype and text in (result.reason or "")
        for title, rtype, text in DEVIATIONS
    )


PASSING = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}


@pytest.fixture
def results(live_server, make_integration):
    import httpx2

    integration = make_integration(IdentityProvider.GENERIC)
    token = ScimToken.issue(integration).raw
    http = httpx2.Client(
        base_url=f"{live_server.url}/scim/v2", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    with http:
        yield check_server(SyncSCIMClient(http))


def test_scim2_tester_finds_no_error(results):
    failures = [
        f"{r.title} [{r.resource_type}]: {r.status.name} {r.reason}"
        for r in results
        if r.status not in PASSING and not known_deviation(r)
    ]
    tally = {s.name: sum(1 for r in results if r.status is s) for s in Status}
    print("scim2-tester tally:", tally)
    assert results, "scim2-tester ran no check"
    assert not failures, "\n".join(failures)
    assert tally["SUCCESS"] >= 131, tally  # every PATCH add/replace/remove check ran
