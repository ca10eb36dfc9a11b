"""Counts the SQL queries a request runs and returns the count in ``X-Query-Count``.

Installed first in MIDDLEWARE by the benchmark's settings of every system, so
the count covers authentication, the view and everything after it.
"""

from __future__ import annotations

from django.db import connection


class QueryCountMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        count = 0

        def counting(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counting):
            response = self.get_response(request)
        response["X-Query-Count"] = str(count)
        return response
