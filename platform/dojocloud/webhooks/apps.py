from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "dojocloud.webhooks"
    label = "webhooks"

    def ready(self) -> None:
        from dojocloud.webhooks import subscribers  # models are ready only now

        subscribers.connect()
