"""Query helpers shared by the request path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connections, router
from django.db.models import QuerySet, signals
from django.db.models.query import get_related_populators
from django.db.models.sql import InsertQuery


def unique_row(queryset: QuerySet[Any]) -> Any:
    """The row of a lookup by a unique column, or ``None``.

    Not ``.first()``: its ``ORDER BY`` is useless on a unique key and costs more to
    build than the query takes to run, on the path every request goes through.
    """
    return next(iter(queryset.order_by()[:1]), None)


def _marker(kind: type, position: int) -> Any:
    """What stands for the ``position``-th looked-up value while the ORM builds the SQL:
    a value of the column's type that no real lookup uses, found again in the parameters."""
    if kind is int:
        return -(2**62) - 7919 * (position + 1)
    return f"\x1fscim-portal-lookup-value-{position}\x1f"


class _Prepared:
    """A query whose SQL the ORM builds once per database, with markers in place of its values.

    ``build(*values)`` returns the queryset (unordered); ``kinds`` gives each value's type
    (``str`` or ``int``), one per argument of ``build``; a value may be used more than once.
    A queryset for update (``select_for_update``) is routed as a write.
    """

    def __init__(self, build: Callable[..., QuerySet[Any]], kinds: tuple[type, ...] = (str,)) -> None:
        self.build = build
        self.markers = tuple(_marker(kind, i) for i, kind in enumerate(kinds))
        self._compiled: dict[str, Any] = {}
        self._model: Any = None
        self._for_write = False

    def _prepared(self) -> tuple[str, Any]:
        """The database alias of this call, and what :meth:`_compile` built for it."""
        if self._model is None:
            queryset = self.build(*self.markers)
            self._model, self._for_write = queryset.model, queryset._for_write
        alias = (router.db_for_write if self._for_write else router.db_for_read)(self._model)
        compiled = self._compiled.get(alias)
        if compiled is None:
            compiled = self._compiled[alias] = self._compile(self.build(*self.markers), alias)
        return alias, compiled

    def _compile(self, queryset: QuerySet[Any], alias: str) -> Any:
        raise NotImplementedError


class PreparedLookup(_Prepared):
    """A lookup of one row by a few values, whose SQL the ORM builds once per database.

    For the queries every SCIM request runs (the credential and its integration; the
    resource a request reads or locks): Django builds a query's SQL anew at each call,
    and for a join of two wide tables that costs the app server more CPU than the
    database spends answering it.  Here the ORM builds the query once, with markers in
    place of the values; each call runs the same SQL with its own values and turns the
    row into instances with the ORM's own converters and ``select_related``
    populators, as a queryset would.  A locking lookup must run inside a transaction,
    as the ORM requires.
    """

    def get(self, *values: Any) -> Any:
        _alias, compiled = self._prepared()
        return compiled.fetch(values)

    def _compile(self, queryset: QuerySet[Any], alias: str) -> _Compiled:
        return _Compiled(queryset.order_by()[:1], alias, self.markers)


class PreparedRows(_Prepared):
    """Every row of a ``values_list`` query (a ``UNION`` too), its SQL built once per database.

    As :class:`PreparedLookup`, for a query that returns several rows of plain values
    (the integration's group policy, read by every create; each side of its union
    filters on the same value); the rows come back as tuples, through the ORM's converters.
    """

    def rows(self, *values: Any) -> list[tuple[Any, ...]]:
        alias, (compiler, sql, template, slots) = self._prepared()
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, _bind(template, slots, values))
            rows = cursor.fetchall()
        return [tuple(row) for row in compiler.results_iter([rows])] if rows else []

    def _compile(self, queryset: QuerySet[Any], alias: str) -> tuple[Any, str, list[Any], list[tuple[int, int]]]:
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        return compiler, sql, list(params), _slots(list(params), self.markers)


def _slots(params: list[Any], markers: tuple[Any, ...]) -> list[tuple[int, int]]:
    """Where each marker stands in the parameters: (position, index of the value)."""
    slots = [(position, markers.index(param)) for position, param in enumerate(params)
             if isinstance(param, (str, int)) and param in markers]
    if {index for _position, index in slots} != set(range(len(markers))):
        raise ValueError("A prepared query must use each of its values.")
    return slots


def _bind(template: list[Any], slots: list[tuple[int, int]], values: tuple[Any, ...]) -> list[Any]:
    """The parameters of one call: the built ones, with this call's values for the markers."""
    params = list(template)
    for position, index in slots:
        params[position] = values[index]
    return params


class _Compiled:
    def __init__(self, queryset: QuerySet[Any], alias: str, markers: tuple[Any, ...]) -> None:
        self.alias = alias
        self.compiler = queryset.query.get_compiler(using=alias)
        self.sql, params = self.compiler.as_sql()
        self.params = list(params)
        self.slots = _slots(self.params, markers)
        klass_info = self.compiler.klass_info
        self.model = klass_info["model"]
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        select = self.compiler.select
        self.init_list = [column[0].target.attname for column in select[self.start:self.end]]
        self.populators = get_related_populators(klass_info, select, alias)

    def fetch(self, values: tuple[Any, ...]) -> Any:
        with connections[self.alias].cursor() as cursor:
            cursor.execute(self.sql, _bind(self.params, self.slots, values))
            row = cursor.fetchone()
        if row is None:
            return None
        row = next(iter(self.compiler.results_iter([[row]])))
        obj = self.model.from_db(self.alias, self.init_list, row[self.start:self.end])
        for populator in self.populators:
            populator.populate(row, obj)
        return obj


class PreparedUpdate:
    """``UPDATE`` of some columns of one row by primary key, its SQL built once per database.

    For the row every SCIM write to a user or group changes: ``Model.save()`` builds its
    ``UPDATE`` anew each time, at a cost of the same order as running it.  Values go
    through each field's own ``pre_save`` and ``get_db_prep_save``, as in ``save()``;
    ``pre_save`` and ``post_save`` are sent with ``update_fields``, as
    ``save(update_fields=...)`` sends them.  The row must exist (the write locked it).
    """

    def __init__(self, model: Any, fields: tuple[str, ...]) -> None:
        self.model = model
        self.names = fields
        self._fields: list[Any] | None = None
        self._sql: dict[str, str] = {}

    def save(self, obj: Any) -> None:
        if self._fields is None:
            self._fields = [self.model._meta.get_field(name) for name in self.names]
        alias = obj._state.db or router.db_for_write(self.model, instance=obj)
        connection = connections[alias]
        sql = self._sql.get(alias)
        if sql is None:
            quote = connection.ops.quote_name
            columns = ", ".join(f"{quote(field.column)} = %s" for field in self._fields)
            sql = self._sql[alias] = (f"UPDATE {quote(self.model._meta.db_table)} SET {columns} "
                                      f"WHERE {quote(self.model._meta.pk.column)} = %s")
        update_fields = frozenset(self.names)
        signals.pre_save.send(sender=self.model, instance=obj, raw=False, using=alias, update_fields=update_fields)
        params = [field.get_db_prep_save(field.pre_save(obj, False), connection) for field in self._fields]
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, obj.pk])
        obj._state.db = alias
        signals.post_save.send(sender=self.model, instance=obj, created=False, update_fields=update_fields,
                               raw=False, using=alias)


class PreparedInsert:
    """``INSERT`` of one new row, its SQL built once per database (the request log's row).

    Every concrete field but an automatic primary key is written, each value through the
    field's ``pre_save`` and ``get_db_prep_save`` as in ``save()``; the new key is read back
    as the ORM reads it; ``pre_save`` and ``post_save`` are sent as ``save()`` sends them.
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self._fields: list[Any] | None = None
        self._sql: dict[str, tuple[str, bool]] = {}

    def insert(self, obj: Any) -> Any:
        meta = self.model._meta
        if self._fields is None:
            self._fields = [field for field in meta.concrete_fields if not (field.primary_key and field.db_returning)]
        alias = router.db_for_write(self.model, instance=obj)
        connection = connections[alias]
        prepared = self._sql.get(alias)
        if prepared is None:
            # The ORM's own INSERT (and RETURNING clause, where the database has one) of this row.
            query = InsertQuery(self.model)
            query.insert_values(self._fields, [obj])
            compiler = query.get_compiler(using=alias)
            compiler.returning_fields = [meta.pk] if meta.pk.db_returning else None
            ((sql, _params),) = compiler.as_sql()
            returns = bool(compiler.returning_fields) and connection.features.can_return_columns_from_insert
            prepared = self._sql[alias] = (sql, returns)
        sql, returns = prepared
        signals.pre_save.send(sender=self.model, instance=obj, raw=False, using=alias, update_fields=None)
        params = [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in self._fields]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            if meta.pk.db_returning:
                value = cursor.fetchone()[0] if returns else connection.ops.last_insert_id(
                    cursor, meta.db_table, meta.pk.column)
                setattr(obj, meta.pk.attname, value)
        obj._state.adding, obj._state.db = False, alias
        signals.post_save.send(sender=self.model, instance=obj, created=True, update_fields=None,
                               raw=False, using=alias)
        return obj
