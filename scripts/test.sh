#!/usr/bin/env bash
# The whole test suite: lint, then pytest on SQLite and on a throwaway PostgreSQL
# cluster (started and stopped by the tests), the host matrix (tests/hosts/), the
# Django 6.0 leg, the bench smoke run, the docs build, and the docs as a test.
source "$(dirname "$0")/_env.sh" "test,docs,example,bench"
source "$ROOT/scripts/_system_packages.sh"
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
# The host matrix: the protocol and lifecycle tests, and the admin's pages, in two more portals (tests/hosts/).
HOST_TESTS=(tests/test_users_api.py tests/test_groups_api.py tests/test_idp_replay.py tests/test_signals.py
            tests/test_errors.py tests/test_concurrency.py tests/test_host_fields.py tests/test_admin_smoke.py
            tests/test_member_listing.py)
echo "== host: stock auth.User, default adapter, SQLite"
DJANGO_SETTINGS_MODULE=tests.hosts.stock.settings SCIM_PORTAL_TEST_DB=sqlite \
  python -m pytest -q -p no:cacheprovider "${HOST_TESTS[@]}" tests/test_conformance.py || status=1
# The same host on PostgreSQL: the concurrency tests (skipped on SQLite), and the live suite
# (real HTTP, CSRF on, the OAuth endpoints) outside the example portal (about 2 minutes).
echo "== host: stock auth.User, default adapter, PostgreSQL, and the live suite"
DJANGO_SETTINGS_MODULE=tests.hosts.stock.settings SCIM_PORTAL_TEST_DB=postgres \
  python -m pytest -q -p no:cacheprovider "${HOST_TESTS[@]}" tests/live || status=1
echo "== host: email-login user with a required field, PostgreSQL"
DJANGO_SETTINGS_MODULE=tests.hosts.emaillogin.settings SCIM_PORTAL_TEST_DB=postgres \
  python -m pytest -q -p no:cacheprovider "${HOST_TESTS[@]}" || status=1
echo "== Django 6.0 on Python 3.12+, SQLite" && bash scripts/test_dj60.sh || status=1
echo "== bench smoke" && python bench/run.py --smoke --out "$(mktemp -d)" || status=1
echo "== concurrency bench smoke" && python bench/concurrency.py --smoke --out "$(mktemp -d)" || status=1
echo "== docs" && mkdocs build --strict --quiet --site-dir "$(mktemp -d)" || status=1
# The docs as a test: the built wheel in new portals, following README/docs as written.
# Needs `manage.py scim_integration` (docs/install.md "Connect an identity provider").
echo "== docs as a test" && python scripts/docs_test.py || status=1
exit $status
