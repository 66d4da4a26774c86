"""Dojo Cloud's Django project: settings, the Celery app and the Django apps."""
