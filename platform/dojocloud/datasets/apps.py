from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "dojocloud.datasets"
    label = "datasets"
