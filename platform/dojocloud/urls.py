"""Root URLconf: the portal at the site root, Django admin, /metrics and /healthz."""

from django.contrib import admin
from django.urls import include, path

from dojocloud.common import views as core_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("metrics", core_views.metrics, name="metrics"),
    path("healthz", core_views.healthz, name="healthz"),
    path("console/", include("dojocloud.console.urls")),
    path("", include("dojocloud.portal.urls")),
]
