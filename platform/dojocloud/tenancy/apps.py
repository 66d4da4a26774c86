from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "dojocloud.tenancy"
    label = "tenancy"
