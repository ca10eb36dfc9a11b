"""``manage.py scim_prune_logs [--days N]``: delete provisioning log rows past retention,
and the rate-limit counter rows (database cache) whose window ended over a day ago.

Run it daily from cron (``0 3 * * * manage.py scim_prune_logs``) or Celery beat.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from scim_portal.audit import prune
from scim_portal.conf import app_settings
from scim_portal.models import RateCounter


class Command(BaseCommand):
    help = ("Delete provisioning log entries older than the retention period, and rate-limit counters "
            "of windows that ended over a day ago.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None,
                            help=f"Keep this many days (default LOG_RETENTION_DAYS, "
                                 f"{app_settings.LOG_RETENTION_DAYS}).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["days"] is not None and options["days"] < 0:
            raise CommandError("--days must be 0 or more.")
        deleted = prune(options["days"])
        counters = RateCounter.prune()
        self.stdout.write(f"Deleted {deleted} provisioning log entries and {counters} expired rate-limit counters.")
