from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "dojocloud.scheduling"
    label = "scheduling"
