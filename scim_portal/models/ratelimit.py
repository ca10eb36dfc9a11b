"""Rate-limit counters for hosts whose ``RATE_LIMIT_CACHE`` is a database cache.

Django's ``DatabaseCache.incr`` reads, adds and writes back: concurrent requests
on several app servers overwrite each other's increments and are admitted beyond
the limit.  A row here is incremented by one ``INSERT ... ON CONFLICT DO UPDATE
... RETURNING`` statement instead, which the database serialises.
"""

from __future__ import annotations

import time

from django.db import models
from django.utils.translation import gettext_lazy as _

STALE_AFTER = 86400  # seconds: the longest window ("/day")


class RateCounter(models.Model):
    """The requests one credential (or one refused client address) made in the current window."""

    name = models.CharField(_("name"), max_length=150, primary_key=True)
    period_start = models.BigIntegerField(_("window start (Unix seconds)"))
    hits = models.PositiveIntegerField(_("requests in the window"))

    class Meta:
        verbose_name = _("rate-limit counter")
        verbose_name_plural = _("rate-limit counters")

    def __str__(self) -> str:
        return f"{self.name}: {self.hits}"

    @classmethod
    def prune(cls, now: float | None = None) -> int:
        """Delete the counters whose window started over a day ago (no window is longer, so
        each has ended); without this a row stays for every address ever refused."""
        cutoff = int(time.time() if now is None else now) - STALE_AFTER
        deleted, _by_model = cls.objects.filter(period_start__lt=cutoff).delete()
        return deleted
