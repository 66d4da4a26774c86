from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "dojocloud.billing"
    label = "billing"

    def ready(self) -> None:
        from dojocloud.billing import budgets, ledger_metrics, services  # models are ready now
        from dojocloud.billing.ports import budget_alerted
        from dojocloud.common import metrics
        from dojocloud.jobs.facade import job_admitting, segment_ended

        segment_ended.subscribe("billing", services.on_segment_ended)
        job_admitting.subscribe("billing", budgets.on_job_admitting)
        metrics.register_scrape_collector(ledger_metrics.COLLECTOR)
        budget_alerted.connect(ledger_metrics.on_budget_alert, dispatch_uid="billing.metrics")
