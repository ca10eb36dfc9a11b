from django.apps import AppConfig


class CmpAppConfig(AppConfig):
    name = "bench.comparator.cmp_app"
    label = "cmp_app"
    default_auto_field = "django.db.models.BigAutoField"
