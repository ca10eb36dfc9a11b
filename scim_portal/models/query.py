"""Query helpers shared by the request path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connections, router
from django.db.models import QuerySet
from django.db.models.query import get_related_populators


def unique_row(queryset: QuerySet[Any]) -> Any:
    """The row of a lookup by a unique column, or ``None``.

    Not ``.first()``: its ``ORDER BY`` is useless on a unique key and costs more to
    build than the query takes to run, on the path every request goes through.
    """
    return next(iter(queryset.order_by()[:1]), None)


#: Stands for the looked-up value while the ORM builds a :class:`PreparedLookup`'s SQL.
_MARKER = "\x1fscim-portal-lookup-value\x1f"


class PreparedLookup:
    """A lookup of one row by one value, whose SQL the ORM builds once per database.

    For the query every SCIM request runs first (the credential and its integration):
    Django builds a query's SQL anew at each call, and for a join of two wide tables
    that costs the app server more CPU than the database spends answering it.  Here
    the ORM builds the query once, with a marker in place of the value; each call runs
    the same SQL with its own value and turns the row into instances with the ORM's own
    converters and ``select_related`` populators, as a queryset would.

    ``build(value)`` returns the queryset (filtered on ``value`` once, unordered).
    """

    def __init__(self, build: Callable[[Any], QuerySet[Any]]) -> None:
        self.build = build
        self._compiled: dict[str, _Compiled] = {}
        self._model: Any = None

    def get(self, value: Any) -> Any:
        if self._model is None:
            self._model = self.build(_MARKER).model
        alias = router.db_for_read(self._model)
        compiled = self._compiled.get(alias)
        if compiled is None:
            compiled = self._compiled[alias] = _Compiled(self.build(_MARKER).order_by()[:1], alias)
        return compiled.fetch(value)

    def clear(self) -> None:
        """Forget the built SQL (after the models or the databases changed, as in tests)."""
        self._compiled.clear()
        self._model = None


class _Compiled:
    def __init__(self, queryset: QuerySet[Any], alias: str) -> None:
        self.alias = alias
        self.compiler = queryset.query.get_compiler(using=alias)
        self.sql, params = self.compiler.as_sql()
        self.params = list(params)
        if self.params.count(_MARKER) != 1:
            raise ValueError("A PreparedLookup's queryset must use its value exactly once.")
        self.slot = self.params.index(_MARKER)
        klass_info = self.compiler.klass_info
        self.model = klass_info["model"]
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        select = self.compiler.select
        self.init_list = [column[0].target.attname for column in select[self.start:self.end]]
        self.populators = get_related_populators(klass_info, select, alias)

    def fetch(self, value: Any) -> Any:
        params = list(self.params)
        params[self.slot] = value
        with connections[self.alias].cursor() as cursor:
            cursor.execute(self.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        row = next(iter(self.compiler.results_iter([[row]])))
        obj = self.model.from_db(self.alias, self.init_list, row[self.start:self.end])
        for populator in self.populators:
            populator.populate(row, obj)
        return obj
