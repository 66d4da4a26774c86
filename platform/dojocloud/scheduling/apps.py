from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "dojocloud.scheduling"
    label = "scheduling"

    def ready(self) -> None:
        from dojocloud.jobs.facade import job_cancelled, job_submitted, segment_ended
        from dojocloud.scheduling import subscribers  # models are ready only now

        segment_ended.subscribe("scheduling", subscribers.on_segment_ended)
        job_submitted.subscribe("scheduling", subscribers.on_job_submitted)
        job_cancelled.subscribe("scheduling", subscribers.on_job_cancelled)
