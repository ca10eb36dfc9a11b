"""Query helpers shared by the request path."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet


def unique_row(queryset: QuerySet[Any]) -> Any:
    """The row of a lookup by a unique column, or ``None``.

    Not ``.first()``: its ``ORDER BY`` is useless on a unique key and costs more to
    build than the query takes to run, on the path every request goes through.
    """
    return next(iter(queryset.order_by()[:1]), None)
