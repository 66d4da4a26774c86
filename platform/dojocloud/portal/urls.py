"""Portal URLs (namespace `portal`), included at the site root."""

from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import RedirectView

from dojocloud.portal.views import billing, jobs, keys, orgs

app_name = "portal"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="portal:job-list"), name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="portal/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="portal:login"), name="logout"),
    path("jobs/", jobs.job_list, name="job-list"),
    path("jobs/new/", jobs.job_new, name="job-new"),
    path("jobs/estimate/", jobs.job_estimate, name="job-estimate"),
    path("jobs/<str:job_id>/", jobs.job_detail, name="job-detail"),
    path("jobs/<str:job_id>/events.json", jobs.job_events_json, name="job-events"),
    path("jobs/<str:job_id>/cancel/", jobs.job_cancel, name="job-cancel"),
    path("org/", orgs.switch_org, name="switch-org"),
    path("keys/", keys.key_list, name="key-list"),
    path("keys/<int:key_id>/revoke/", keys.key_revoke, name="key-revoke"),
    path("billing/", billing.billing_overview, name="billing"),
    path("billing/invoices/", billing.invoice_list, name="invoice-list"),
    path("billing/invoices/<str:month>/", billing.invoice_detail, name="invoice-detail"),
    path("billing/invoices/<str:month>/csv/", billing.invoice_csv, name="invoice-csv"),
]
