"""Models of scim_portal: integrations, their credentials, and the SCIM identities they manage."""

from scim_portal.models.audit import Outcome, ProvisioningLog, ScimHistoricalFields
from scim_portal.models.integration import (
    Deprovisioning,
    GroupRule,
    IdentityProvider,
    Integration,
    UniqueIdentifier,
    UnknownAttributes,
)
from scim_portal.models.oauth import OAuthClient
from scim_portal.models.ratelimit import RateCounter
from scim_portal.models.resources import ScimGroup, ScimUser
from scim_portal.models.tokens import ScimToken, Scope, TokenLimitReached

__all__ = [
    "Deprovisioning",
    "GroupRule",
    "IdentityProvider",
    "Integration",
    "OAuthClient",
    "Outcome",
    "ProvisioningLog",
    "RateCounter",
    "ScimGroup",
    "ScimHistoricalFields",
    "ScimToken",
    "ScimUser",
    "Scope",
    "TokenLimitReached",
    "UniqueIdentifier",
    "UnknownAttributes",
]
