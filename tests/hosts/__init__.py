"""The host matrix: small portals the protocol and lifecycle tests also run in.

``stock``: Django's own ``auth.User``, the default adapter, no
``USER_ATTRIBUTE_MAP``, SQLite configured as docs/install.md tells a host, and
history for ``auth.User``/``auth.Group`` from ``scim_portal.contrib.auth_history``.
``emaillogin``: a custom email-login user with a required ``employee_number``
(no default) on PostgreSQL, history added in the app's second migration as
docs/tracking.md tells.  Run one with
``DJANGO_SETTINGS_MODULE=tests.hosts.<name>.settings python -m pytest ...``.
"""
