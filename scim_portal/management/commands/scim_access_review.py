"""``manage.py scim_access_review [--format csv|json] [--output FILE]``: the access review.

Lists active portal accounts no enabled integration manages and accounts an
identity provider deactivated that still hold sessions or OAuth tokens, with
staff and superuser flags (docs/guard-rails.md).  Rows are streamed, so the
command runs in bounded memory on portals of any size.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from scim_portal.access_review import csv_lines, json_chunks, review


class Command(BaseCommand):
    help = "Report portal access no identity provider manages (CSV or JSON, streamed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["csv", "json"], default="csv")
        parser.add_argument("--output", "-o", default="-", help="A file to write (default: standard output).")
        parser.add_argument("--chunk-size", type=int, default=None,
                            help="Users read per query (default ACCESS_REVIEW_CHUNK_SIZE).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["chunk_size"] is not None and options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be 1 or more.")
        findings = review(options["chunk_size"])
        chunks = csv_lines(findings) if options["format"] == "csv" else json_chunks(findings)
        if options["output"] == "-":
            for chunk in chunks:
                self.stdout.write(chunk, ending="")
            return
        with open(options["output"], "w", encoding="utf-8", newline="") as out:
            out.writelines(chunks)
