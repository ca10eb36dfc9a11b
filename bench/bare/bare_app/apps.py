from django.apps import AppConfig


class BareAppConfig(AppConfig):
    name = "bench.bare.bare_app"
    label = "bare_app"
    default_auto_field = "django.db.models.BigAutoField"
