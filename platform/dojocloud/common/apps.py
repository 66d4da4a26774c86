from django.apps import AppConfig


class CommonConfig(AppConfig):
    """Shared plumbing every app may use: typed settings helpers, the error hierarchy,
    metrics, the Redis client and the health views. No models, no domain rules."""

    name = "dojocloud.common"
    label = "common"
    verbose_name = "Dojo common"
