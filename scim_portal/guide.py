"""Step-by-step IdP setup guides, generated for one integration.

The same steps are rendered on the integration's admin page (with this
integration's values and copy buttons) and, with example values, into the
"Set up" section of ``docs/idp/<idp>.md`` (``scripts/idp_guides.py`` writes it;
a test fails when the page and this module disagree).  Field names are the
ones the IdP's own console shows ("SCIM connector base URL" in Okta, "Tenant
URL" in Entra ID), so the admin can match them on screen.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from scim_portal.models import UniqueIdentifier

#: Markers around the generated section of a docs page.
DOC_START = "<!-- setup guide: generated from scim_portal/guide.py by scripts/idp_guides.py; edit there -->"
DOC_END = "<!-- end of setup guide -->"


@dataclass(frozen=True)
class Value:
    """One value the admin types or pastes into the IdP; ``copy`` adds a copy button."""

    label: str
    value: str
    copy: bool = True


@dataclass(frozen=True)
class Step:
    title: str
    text: str
    values: tuple[Value, ...] = ()


@dataclass(frozen=True)
class GuideContext:
    """What a guide needs to know about the integration and the portal."""

    base_url: str
    unique_identifier: str = "userName"
    #: With the scopes as a query (Okta has no separate scope field).
    authorize_url: str = ""
    token_url: str = ""
    scopes: str = ""
    client_id: str = ""
    required_attributes: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Guide:
    provider: str
    title: str
    doc_page: str  # relative to the docs root, e.g. "idp/okta.md"
    steps: tuple[Step, ...]


TOKEN_HINT = "the token from “Generate a new token” on this page (shown once)"
#: Where the IdP's test call shows, and when (successful reads are logged once a minute a credential).
TEST_CALL_SHOWS = ("The health section of the integration page shows whether the call arrived and how it was "
                   "answered. A successful call shows when its credential made no other request in the minute before: "
                   "press the button after a quiet minute (or set SCIM_PORTAL[\"LOG_READS\"] = \"all\"); "
                   "a refused call always shows.")


def okta_identifier(context: GuideContext) -> str:
    return "email" if context.unique_identifier == UniqueIdentifier.EMAIL else "userName"


def okta_guide(context: GuideContext) -> Guide:
    """Okta, an app built with the Okta Integration Wizard (SCIM 2.0, Header Auth or OAuth 2)."""
    client_id = context.client_id or "the client id shown when you register an OAuth client on this page"
    steps = (
        Step("Enable SCIM", "In the Okta Admin Console open Applications → your app → General → App Settings → "
             "Edit, tick “Enable SCIM provisioning” and save."),
        Step("Connect", "Open Provisioning → Integration → Edit and fill in these fields.", (
            Value("SCIM connector base URL", context.base_url),
            Value("Unique identifier field for users", okta_identifier(context)),
            Value("Supported provisioning actions", "Push New Users, Push Profile Updates, Push Groups, "
                  "Import New Users and Profile Updates", copy=False),
        )),
        Step("Authenticate with a token", "Either choose Authentication Mode “HTTP Header” and paste the token "
             "after “Bearer” in the Authorization field.", (
            Value("Authentication Mode", "HTTP Header", copy=False),
            Value("Authorization (Bearer)", TOKEN_HINT, copy=False),
        )),
        Step("Or authenticate with OAuth 2", "Or choose Authentication Mode “OAuth 2” and fill in the endpoints "
             "and the OAuth client registered on this page; Okta then asks you to sign in here and approve.", (
            Value("Authorization endpoint URI", context.authorize_url),
            Value("Access token endpoint URI", context.token_url),
            Value("Client ID", client_id, copy=bool(context.client_id)),
            Value("Client Secret", "shown once when the client is registered", copy=False),
        )),
        Step("Test Connector Configuration", "Press “Test Connector Configuration”: Okta lists users "
             "(GET /Users?startIndex=1&count=1, or a userName filter). " + TEST_CALL_SHOWS + " Then save."),
        Step("To App", "Open Provisioning → To App → Edit, enable Create Users, Update User Attributes and "
             "Deactivate Users, and save. Then assign people, or push groups under Push Groups."),
    )
    return Guide("okta", "Okta", "idp/okta.md", steps)


ENTRA_SOURCES = {
    "userName": "userPrincipalName",
    'emails[type eq "work"].value': "mail",
    "name.givenName": "givenName",
    "name.familyName": "surname",
}


def entra_mappings(context: GuideContext) -> tuple[Value, ...]:
    """The target attributes a create must carry, with the Entra source attribute that fills them."""
    mapped = [Value(target, source, copy=False) for target, source in ENTRA_SOURCES.items()]
    known = {"emails", "name.givenName", "name.familyName", "userName"}
    mapped += [Value(path, "an Entra attribute of your choice", copy=False)
               for path in context.required_attributes if path not in known]
    return tuple(mapped)


def entra_guide(context: GuideContext) -> Guide:
    """Microsoft Entra ID, a non-gallery enterprise application with automatic provisioning."""
    steps = (
        Step("Create the application", "In the Microsoft Entra admin center open Enterprise applications → "
             "New application → Create your own application, choose “Integrate any other application you don't "
             "find in the gallery (Non-gallery)”, then open Provisioning."),
        Step("Admin Credentials", "Set Provisioning Mode to Automatic and fill in the admin credentials.", (
            Value("Provisioning Mode", "Automatic", copy=False),
            Value("Tenant URL", context.base_url),
            Value("Secret Token", TOKEN_HINT, copy=False),
        )),
        Step("Test Connection", "Press “Test Connection”: Entra looks up a random userName and expects an empty "
             "list. " + TEST_CALL_SHOWS + " Then save."),
        Step("Attribute mappings", "Open Mappings → Provision Microsoft Entra ID Users and check that these "
             "target attributes are mapped (target attribute: Entra source attribute); a create without "
             "emails, givenName or familyName is refused with 400 naming the missing attribute, "
             "and shows in Entra's provisioning logs.",
             entra_mappings(context)),
        Step("Scope and start", "Under Settings choose Scope “Sync only assigned users and groups”, assign users "
             "and groups under Users and groups, then press “Start provisioning”. Entra then runs a cycle about "
             "every 40 minutes."),
    )
    return Guide("entra", "Microsoft Entra ID", "idp/entra.md", steps)


def generic_guide(context: GuideContext) -> Guide:
    """Any other SCIM 2.0 client (RFC 7644): a base URL and a bearer token or OAuth client credentials."""
    steps = (
        Step("Endpoint", "Give the client the SCIM base URL; it adds /Users, /Groups and the discovery "
             "endpoints (RFC 7644 section 3.2).", (
            Value("SCIM base URL", context.base_url),
            Value("Unique identifier for users", context.unique_identifier),
        )),
        Step("Bearer token", "Send the token in the Authorization header of every request (RFC 6750).", (
            Value("Authorization header", "Bearer " + TOKEN_HINT, copy=False),
        )),
        Step("Or OAuth 2 client credentials", "Or register an OAuth client with the client credentials grant "
             "on this page and let the client fetch access tokens.", (
            Value("Token endpoint", context.token_url),
            Value("Scopes", context.scopes),
        )),
        Step("Test", "Ask the client to list users (GET /Users?startIndex=1&count=1). " + TEST_CALL_SHOWS),
    )
    return Guide("generic", "Generic SCIM 2.0 client", "idp/generic.md", steps)


GUIDES: dict[str, Callable[[GuideContext], Guide]] = {
    "okta": okta_guide,
    "entra": entra_guide,
    "generic": generic_guide,
}


def guide_for(provider: str, context: GuideContext) -> Guide:
    """The guide of a provider; an unknown provider gets the generic one."""
    return GUIDES.get(provider, generic_guide)(context)


#: The values the docs pages show in place of one integration's.
EXAMPLE_CONTEXT = GuideContext(
    base_url="https://portal.example.com/scim/v2/",
    authorize_url="https://portal.example.com/scim/v2/oauth/authorize?scope=scim.read%20scim.write",
    token_url="https://portal.example.com/scim/v2/oauth/token",
    scopes="scim.read scim.write",
    required_attributes=("emails", "name.givenName", "name.familyName"),
)


def markdown(guide: Guide) -> str:
    """The guide as the Markdown of its docs page's generated section."""
    lines = [DOC_START, ""]
    for number, step in enumerate(guide.steps, 1):
        lines.append(f"{number}. **{step.title}.** {step.text}")
        lines += [f"    - {value.label}: `{value.value}`" if value.copy else f"    - {value.label}: {value.value}"
                  for value in step.values]
    lines += ["", DOC_END]
    return "\n".join(lines)


SECTION = re.compile(re.escape(DOC_START) + r".*?" + re.escape(DOC_END), re.DOTALL)


def with_guide(page: str, guide: Guide) -> str:
    """A docs page with its generated section replaced by the current guide."""
    if not SECTION.search(page):
        raise ValueError(f"{guide.doc_page} has no generated setup section")
    return SECTION.sub(lambda _match: markdown(guide), page, count=1)
