from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "dojocloud.api"
    label = "api"
    verbose_name = "Dojo gRPC API"
