"""Models of scim_portal: integrations, their credentials, and the SCIM identities they manage."""

from scim_portal.models.audit import (
    Membership,
    MembershipChange,
    Outcome,
    ProvisioningLog,
    ScimHistoricalFields,
)
from scim_portal.models.guard import (
    AccessReview,
    BurstStatus,
    DeprovisioningBrake,
    DeprovisioningBurst,
    DeprovisioningCount,
    HeldRequest,
)
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
    "AccessReview",
    "BurstStatus",
    "Deprovisioning",
    "DeprovisioningBrake",
    "DeprovisioningBurst",
    "DeprovisioningCount",
    "GroupRule",
    "HeldRequest",
    "IdentityProvider",
    "Integration",
    "Membership",
    "MembershipChange",
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
