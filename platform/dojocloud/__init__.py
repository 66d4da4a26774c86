"""Dojo Cloud's Django project: settings, the Celery app and the Django apps."""

from dojocloud.celery import app as celery_app

__all__ = ["celery_app"]
