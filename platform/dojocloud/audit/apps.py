from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "dojocloud.audit"
    label = "audit"
