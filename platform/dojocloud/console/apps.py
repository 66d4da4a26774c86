from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "dojocloud.console"
    label = "console"
    verbose_name = "Operator console"
