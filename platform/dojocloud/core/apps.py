from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "dojocloud.core"
    label = "dojocore"
    verbose_name = "Dojo core"
