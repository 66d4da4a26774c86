from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "dojocloud.jobs"
    label = "jobs"

    def ready(self) -> None:
        from dojocloud.datasets.facade import register_users_check
        from dojocloud.jobs import ports, segment_states, services  # models are ready now

        ports.segment_ended.subscribe("jobs", segment_states.on_segment_ended)
        register_users_check("jobs", services.dataset_users)
