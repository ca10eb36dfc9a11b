#!/usr/bin/env bash
# The whole test suite: lint, then pytest on SQLite and on a throwaway PostgreSQL
# cluster (started and stopped by the tests), then the docs build.
source "$(dirname "$0")/_env.sh" "test,docs,example,bench"
status=0
echo "== ruff" && ruff check scim_portal tests example_project bench || status=1
echo "== mypy" && mypy || status=1
echo "== pytest on SQLite"
SCIM_PORTAL_TEST_DB=sqlite python -m pytest -q -p no:cacheprovider "$@" || status=1
echo "== pytest on PostgreSQL"
SCIM_PORTAL_TEST_DB=postgres python -m pytest -q -p no:cacheprovider "$@" || status=1
echo "== pytest: a django-scim2 host (its own settings), SQLite and PostgreSQL"
for db in sqlite postgres; do
  SCIM_PORTAL_TEST_DB=$db python -m pytest -q -p no:cacheprovider --ds tests.djscim2_host.settings tests/djscim2_host || status=1
done
echo "== bench smoke" && python bench/run.py --smoke --out "$(mktemp -d)" || status=1
echo "== docs" && mkdocs build --strict --quiet --site-dir "$(mktemp -d)" || status=1
exit $status
