"""Portal URLs (namespace `portal`), included at the site root."""

from allauth.account.views import LoginView
from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import RedirectView

from dojocloud.portal.views import (
    artifacts,
    audit,
    billing,
    datasets,
    invitations,
    jobs,
    keys,
    members,
    models,
    orgs,
    profile,
    reference,
    webhooks,
)

app_name = "portal"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="portal:job-list"), name="home"),
    path(
        "login/",
        # allauth's sign-in (user name or email; mandatory email verification), with the
        # portal's form (field `username`) and template; settings.ACCOUNT_FORMS names the form.
        LoginView.as_view(template_name="portal/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="portal:login"), name="logout"),
    path("jobs/", jobs.job_list, name="job-list"),
    path("jobs/new/", jobs.job_new, name="job-new"),
    path("jobs/estimate/", jobs.job_estimate, name="job-estimate"),
    path("jobs/<str:job_id>/", jobs.job_detail, name="job-detail"),
    path("jobs/<str:job_id>/events.json", jobs.job_events_json, name="job-events"),
    path("jobs/<str:job_id>/log.json", jobs.job_log_json, name="job-log"),
    path("jobs/<str:job_id>/cancel/", jobs.job_cancel, name="job-cancel"),
    path(
        "jobs/<str:job_id>/artifacts/<str:name>",
        artifacts.artifact_download,
        name="job-artifact",
    ),
    path("org/", orgs.switch_org, name="switch-org"),
    path("orgs/new/", orgs.org_new, name="org-new"),
    path("members/", members.member_list, name="member-list"),
    path("members/invite/", members.member_invite, name="member-invite"),
    path("members/leave/", members.member_leave, name="member-leave"),
    path("members/<int:membership_id>/role/", members.member_role, name="member-role"),
    path("members/<int:membership_id>/remove/", members.member_remove, name="member-remove"),
    path("members/<int:membership_id>/transfer/", members.member_transfer, name="member-transfer"),
    path(
        "members/invitations/<int:invitation_id>/revoke/",
        members.invitation_revoke,
        name="invitation-revoke",
    ),
    path("invitations/<str:token>/", invitations.invitation, name="invitation"),
    path("org/audit/", audit.audit_log, name="audit-log"),
    path("org/audit.csv", audit.audit_csv, name="audit-csv"),
    path("keys/", keys.key_list, name="key-list"),
    path("keys/<int:key_id>/revoke/", keys.key_revoke, name="key-revoke"),
    path("billing/", billing.billing_overview, name="billing"),
    path("billing/budget/", billing.budget_set, name="budget-set"),
    path("billing/invoices/", billing.invoice_list, name="invoice-list"),
    path("billing/invoices/<str:month>/", billing.invoice_detail, name="invoice-detail"),
    path("billing/invoices/<str:month>/csv/", billing.invoice_csv, name="invoice-csv"),
    path("datasets/", datasets.dataset_list, name="dataset-list"),
    path("datasets/upload/", datasets.dataset_upload, name="dataset-upload"),
    path("datasets/upload/chunk/", datasets.dataset_upload_chunk, name="dataset-upload-chunk"),
    path("datasets/upload/status/", datasets.dataset_upload_status, name="dataset-upload-status"),
    path("datasets/<str:dataset_id>/", datasets.dataset_detail, name="dataset-detail"),
    path("datasets/<str:dataset_id>/delete/", datasets.dataset_delete, name="dataset-delete"),
    path(
        "datasets/<str:dataset_id>/preview/<int:n>.png",
        datasets.dataset_preview,
        name="dataset-preview",
    ),
    path("models/", models.model_list, name="model-list"),
    path("models/upload/", models.model_upload, name="model-upload"),
    path("models/upload/chunk/", models.model_upload_chunk, name="model-upload-chunk"),
    path("models/upload/status/", models.model_upload_status, name="model-upload-status"),
    path("models/<str:model_id>/", models.model_detail, name="model-detail"),
    path("models/<str:model_id>/delete/", models.model_delete, name="model-delete"),
    path("webhooks/", webhooks.webhook_list, name="webhook-list"),
    path("webhooks/add/", webhooks.webhook_add, name="webhook-add"),
    path("webhooks/<str:endpoint_id>/", webhooks.webhook_detail, name="webhook-detail"),
    path("webhooks/<str:endpoint_id>/test/", webhooks.webhook_test, name="webhook-test"),
    path("webhooks/<str:endpoint_id>/delete/", webhooks.webhook_delete, name="webhook-delete"),
    path("reference/", reference.reference, name="reference"),
    path("profile/", profile.profile, name="profile"),
]
