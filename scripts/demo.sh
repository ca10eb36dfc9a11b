#!/usr/bin/env bash
# Start the example portal at http://127.0.0.1:8000 on SQLite, with a demo Okta
# integration; prints the SCIM base URL, a fresh token and the admin login.
source "$(dirname "$0")/_env.sh" example
cd "$ROOT/example_project"
python manage.py migrate --noinput >/dev/null
python manage.py demo_setup --base-url "http://127.0.0.1:${PORT:-8000}/scim/v2/"
exec python manage.py runserver "127.0.0.1:${PORT:-8000}" --noreload
