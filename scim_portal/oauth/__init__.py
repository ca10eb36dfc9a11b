"""OAuth 2.0 authorization server endpoints for SCIM clients, on django-oauth-toolkit.

Our views bring their own validator and server settings, so they work with
the toolkit's defaults and never depend on (or change) the host's global
``OAUTH2_PROVIDER`` configuration: see docs/authentication-developers.md.
"""
