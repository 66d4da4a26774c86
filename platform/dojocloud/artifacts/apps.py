from django.apps import AppConfig


class ArtifactsConfig(AppConfig):
    name = "dojocloud.artifacts"
    label = "artifacts"
