"""scim_portal: a SCIM 2.0 service provider for Django portals."""

__version__ = "0.1.0.dev0"
