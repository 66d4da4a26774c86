"""Console URLs (namespace `console`), included at /console/."""

from django.urls import path

from dojocloud.console import actions, audit, billing, views

app_name = "console"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("actions/device", actions.device_action, name="device-action"),
    path("actions/job", actions.job_action, name="job-action"),
    path("actions/quota", actions.quota_action, name="quota-action"),
    path("audit/", audit.audit_log, name="audit-log"),
    path("audit.csv", audit.audit_csv, name="audit-csv"),
    path("billing/", billing.billing_page, name="billing"),
    path("billing/price", billing.price_action, name="price-action"),
    path("billing/adjust", billing.adjust_action, name="adjust-action"),
]
