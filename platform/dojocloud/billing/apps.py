from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "dojocloud.billing"
    label = "billing"

    def ready(self) -> None:
        from dojocloud.billing import budgets, services  # models are ready only now
        from dojocloud.jobs.facade import job_admitting, segment_ended

        segment_ended.subscribe("billing", services.on_segment_ended)
        job_admitting.subscribe("billing", budgets.on_job_admitting)
