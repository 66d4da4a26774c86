from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "dojocloud.billing"
    label = "billing"
