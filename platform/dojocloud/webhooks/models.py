"""An organization's webhook endpoints and every delivery to them (the outbox).

A delivery row is written in the transaction of the moment it reports (a job's final state
commits with its delivery rows), then sent by a Celery task; the row records every attempt's
outcome. The endpoint's secret is stored sealed (webhooks.sealing), never in plain text."""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.utils import timezone


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"  # waiting for its first attempt or a retry
    SUCCEEDED = "succeeded"  # the endpoint answered 2xx
    FAILED = "failed"  # every attempt failed: given up


def new_endpoint_id() -> str:
    return secrets.token_hex(6)


class Endpoint(models.Model):
    endpoint_id = models.CharField(max_length=12, unique=True, default=new_endpoint_id)
    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list)  # the types it receives ("test" always)
    secret_sealed = models.TextField()  # Fernet token of the secret (webhooks.sealing)
    secret_hint = models.CharField(max_length=16)  # "whsec_ab12": tells secrets apart
    created_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    @property
    def resource_name(self) -> str:
        return f"organizations/{self.organization.slug}/webhooks/{self.endpoint_id}"


class Delivery(models.Model):
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=40)  # the same on every attempt: receivers dedupe
    event_type = models.CharField(max_length=40)
    body = models.TextField()  # the exact JSON sent (and signed), every attempt
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True)
    response_code = models.PositiveIntegerField(null=True)  # None: no HTTP answer
    response_excerpt = models.TextField(blank=True)  # the first bytes of the answer
    error = models.CharField(max_length=300, blank=True)  # why the last attempt failed
    duration_ms = models.PositiveIntegerField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="delivery_by_endpoint"),
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
        ]


class Attempt(models.Model):
    """One try of a delivery: when, what came back, and, when it failed, the retry's delay."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="tries")
    number = models.PositiveIntegerField()
    at = models.DateTimeField()
    response_code = models.PositiveIntegerField(null=True)
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField()
    retry_in_s = models.FloatField(null=True)  # None: succeeded or given up

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="one_attempt_number")
        ]
