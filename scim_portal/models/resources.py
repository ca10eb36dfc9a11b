"""The SCIM identity of a host user or group.

The host's own tables stay untouched: scim_portal keeps, beside each
provisioned user or group, a row with the stable opaque SCIM ``id``, the
integration that owns it, the identifiers IdPs look up by (kept in indexed,
case-folded columns), the attributes the host model has no field for, and a
version for ETags.  Uniqueness of ``userName`` without regard to case is
enforced by a unique index here, so it holds whatever the host model says.
"""

from __future__ import annotations

import unicodedata
import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scim_portal.conf import group_model_label
from scim_portal.models.query import PreparedInsert, PreparedUpdate


def new_scim_id() -> str:
    """The ``id`` of a resource created here (RFC 7643 3.1): a random UUID in its text form.

    Stored as text, not as a UUID, so that ids issued by another service
    provider (django-scim2 uses the primary key: ``"42"``) can be kept when
    a portal moves to scim_portal and its IdPs keep addressing them.
    """
    return str(uuid.uuid4())


def fold(value: str | None) -> str:
    """The key SCIM compares case-insensitive strings by (RFC 7643 2.1 caseExact false).

    Two strings that only *look* different to a program but are one name to a person
    get one key: compatibility forms are folded (Unicode NFKC: fullwidth ``A`` (U+FF21)
    is ``A``, ``e`` followed by a combining accent is the precomposed ``é``), invisible format
    characters (Unicode category Cf: zero-width space and joiners, soft hyphen,
    direction marks) are dropped, surrounding white space is trimmed, and case is
    folded.  Characters of different scripts stay distinct, even where they look
    alike (Latin ``a`` and Cyrillic ``a`` (U+0430)): folding them would merge real names.
    The value as sent is kept for display; only the key is folded.
    """
    # casefold() can leave a string that is not NFKC (U+0345, U+1E9E): normalise again.
    return unicodedata.normalize("NFKC", visible_form(value).casefold()).strip()


def visible_form(value: str | None) -> str:
    """``value`` as a person reads it: NFKC, without invisible format characters (category
    Cf), trimmed; case kept.  Host field validators see this form (an email with a stray
    zero-width space is still an email); the value as sent is what is stored and shown."""
    text = unicodedata.normalize("NFKC", value or "")
    return "".join(char for char in text if unicodedata.category(char) != "Cf").strip()


class ScimResource(models.Model):
    scim_id = models.CharField(_("SCIM id"), max_length=254, default=new_scim_id, unique=True, editable=False)
    integration = models.ForeignKey(
        "scim_portal.Integration", on_delete=models.CASCADE, related_name="+"
    )
    external_id = models.CharField(_("external id"), max_length=255, blank=True, default="")
    document = models.JSONField(
        _("stored attributes"), default=dict, blank=True,
        help_text=_("The attributes the IdP sent, as sent, for a faithful round trip."),
    )
    version = models.PositiveIntegerField(default=1)
    created = models.DateTimeField(_("created"), default=timezone.now)
    last_modified = models.DateTimeField(_("last modified"), default=timezone.now)
    deleted_at = models.DateTimeField(
        _("deleted by the IdP"), null=True, blank=True,
        help_text=_("Set when the IdP sent DELETE: hidden from SCIM, kept for the portal."),
    )

    class Meta:
        abstract = True

    #: The UPDATE and INSERT of :meth:`save_changes` and :meth:`insert`, one per concrete model.
    prepared_update: ClassVar[PreparedUpdate]
    prepared_insert: ClassVar[PreparedInsert]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.prepared_update = PreparedUpdate(cls, cls.CHANGED_BY_WRITES)
        cls.prepared_insert = PreparedInsert(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Rows loaded from the database arrive positionally (Model.from_db); leave them be.
        if not args and "last_modified" not in kwargs:
            # A new resource was last modified when it was created, to the microsecond.
            self.last_modified = self.created

    def save(self, *args, **kwargs) -> None:
        self.fill_keys()
        super().save(*args, **kwargs)

    @property
    def etag(self) -> str:
        return f'W/"{self.version}"'

    def bump(self) -> None:
        self.version += 1
        self.last_modified = timezone.now()

    #: The columns a SCIM write to an existing resource changes (:meth:`save_changes`).
    CHANGED_BY_WRITES: tuple[str, ...] = ("external_id", "document", "version", "last_modified", "deleted_at")

    def save_changes(self) -> None:
        """Store what a SCIM write changes (never the owner, the host row or the id) in one
        ``UPDATE`` whose SQL is built once: every write to a user or group ends here."""
        self.fill_keys()
        type(self).prepared_update.save(self)

    def insert(self) -> None:
        """Store a new resource in one ``INSERT`` whose SQL is built once: every SCIM create ends here."""
        self.fill_keys()
        type(self).prepared_insert.insert(self)

    def fill_keys(self) -> None:
        """Derive the folded key columns from the values they key."""


class ScimUser(ScimResource):
    """The SCIM side of one host user, owned by one integration."""

    integration = models.ForeignKey(
        "scim_portal.Integration", on_delete=models.CASCADE, related_name="scim_users"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scim_identity"
    )
    user_name = models.CharField(_("userName"), max_length=255)
    user_name_key = models.CharField(max_length=255, unique=True, editable=False)
    email_key = models.CharField(max_length=254, blank=True, default="", editable=False)
    deactivated_at = models.DateTimeField(
        _("deactivated"), null=True, blank=True, help_text=_("When the IdP last switched the user off."),
    )

    class Meta:
        verbose_name = _("SCIM user")
        verbose_name_plural = _("SCIM users")
        indexes = [
            models.Index(fields=["integration", "external_id"], name="scim_user_external_id"),
            models.Index(fields=["integration", "email_key"], name="scim_user_email"),
            # Pages and COUNT of the users SCIM sees, without visiting the table (index-only scans).
            models.Index(fields=["integration", "id"], name="scim_user_live_page",
                         condition=models.Q(deleted_at__isnull=True)),
        ]

    CHANGED_BY_WRITES = (*ScimResource.CHANGED_BY_WRITES, "user_name", "user_name_key", "email_key",
                         "deactivated_at")

    def __str__(self) -> str:
        return self.user_name

    def fill_keys(self) -> None:
        self.user_name_key = fold(self.user_name)


class ScimGroup(ScimResource):
    """The SCIM side of one host group, owned by one integration."""

    integration = models.ForeignKey(
        "scim_portal.Integration", on_delete=models.CASCADE, related_name="scim_groups"
    )
    group = models.OneToOneField(
        group_model_label(),
        on_delete=models.CASCADE,
        related_name="scim_identity",
    )
    display_name = models.CharField(_("displayName"), max_length=255)
    display_name_key = models.CharField(max_length=255, editable=False)

    class Meta:
        verbose_name = _("SCIM group")
        verbose_name_plural = _("SCIM groups")
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "display_name_key"], name="scim_group_display_name_unique"
            )
        ]
        indexes = [
            models.Index(fields=["integration", "external_id"], name="scim_group_external_id"),
            models.Index(fields=["integration", "id"], name="scim_group_live_page",
                         condition=models.Q(deleted_at__isnull=True)),
        ]

    CHANGED_BY_WRITES = (*ScimResource.CHANGED_BY_WRITES, "display_name", "display_name_key")

    def __str__(self) -> str:
        return self.display_name

    def fill_keys(self) -> None:
        self.display_name_key = fold(self.display_name)
