from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "dojocloud.jobs"
    label = "jobs"
