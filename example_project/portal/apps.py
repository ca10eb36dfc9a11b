from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from portal.models import UserSession

        def remember_session(sender, request, user, **kwargs) -> None:
            key = request.session.session_key
            if key:
                UserSession.objects.update_or_create(session_key=key, defaults={"user": user})

        user_logged_in.connect(remember_session, dispatch_uid="portal.remember_session", weak=False)
