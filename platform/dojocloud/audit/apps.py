from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "dojocloud.audit"
    label = "audit"

    def ready(self) -> None:
        from dojocloud.audit import logins

        logins.connect()
