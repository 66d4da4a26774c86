"""Console URLs (namespace `console`), included at /console/."""

from django.urls import path

from dojocloud.console import views

app_name = "console"

urlpatterns = [
    path("", views.overview, name="overview"),
]
