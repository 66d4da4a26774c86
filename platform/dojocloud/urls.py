"""Root URLconf: the portal at the site root, accounts (allauth) under /accounts/, Django
admin, /metrics and /healthz."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from dojocloud.common import views as core_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("metrics", core_views.metrics, name="metrics"),
    path("healthz", core_views.healthz, name="healthz"),
    path("console/", include("dojocloud.console.urls")),
    # Sign-in is the portal's /login/ (the same allauth view); allauth's links land there.
    path(
        "accounts/login/",
        RedirectView.as_view(pattern_name="portal:login", query_string=True),
        name="account_login",
    ),
    path("accounts/", include("allauth.urls")),
    path("", include("dojocloud.portal.urls")),
]
