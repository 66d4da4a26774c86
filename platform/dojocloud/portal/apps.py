from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "dojocloud.portal"
    label = "portal"
    verbose_name = "Customer portal"
