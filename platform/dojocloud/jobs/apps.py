from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "dojocloud.jobs"
    label = "jobs"

    def ready(self) -> None:
        from dojocloud.jobs import ports, segment_states  # models are ready only now

        ports.segment_ended.subscribe("jobs", segment_states.on_segment_ended)
