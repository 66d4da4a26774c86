"""Persisted capacity: devices synced from the inventory, placements, the leader lease."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class DeviceKind(models.TextChoices):
    TILE = "tile"
    GPU = "gpu"


class DeviceStatus(models.TextChoices):
    # Values match scheduler.core.DeviceState.
    FREE = "free"
    DRAINING = "draining"
    FAILED = "failed"


class Device(models.Model):
    """One Dojo training tile or one GPU; ids are the core's device ids."""

    id = models.CharField(max_length=120, primary_key=True)
    kind = models.CharField(max_length=8, choices=DeviceKind.choices)
    pool = models.CharField(max_length=32, db_index=True)
    accelerator = models.CharField(max_length=32)
    # Tiles: position in the ExaPOD; GPUs: node name and index on it.
    exapod = models.PositiveIntegerField(default=0)
    cabinet = models.PositiveIntegerField(default=0)
    tray = models.PositiveIntegerField(default=0)
    row = models.PositiveIntegerField(default=0)
    col = models.PositiveIntegerField(default=0)
    node = models.CharField(max_length=32, blank=True)
    rack = models.CharField(max_length=32, blank=True)  # GPUs: the node's rack (inventory)
    index = models.PositiveIntegerField(default=0)
    gpus_on_node = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=10, choices=DeviceStatus.choices, default=DeviceStatus.FREE
    )
    in_inventory = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.id


class Allocation(models.Model):
    """A device held by a job. The partial unique index is the database's guarantee that
    no device ever holds two active placements."""

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="allocations")
    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="allocations")
    attempt = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["device"],
                condition=Q(released_at__isnull=True),
                name="allocation_one_active_per_device",
            )
        ]

    def __str__(self) -> str:
        return f"{self.device_id} -> {self.job_id}"


class SchedulerLease(models.Model):
    """Leader election where there are no advisory locks (SQLite): a row with an expiry."""

    name = models.CharField(max_length=32, primary_key=True)
    holder = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name}: {self.holder}"


class TenantQuota(models.Model):
    """A tenant's quota in one pool, in devices (tiles or GPUs), as Kueue's ClusterQueue:
    `nominal` is guaranteed, `borrowing_limit` caps use above it, `lending_limit` caps how
    much of its unused nominal others may borrow (null = no limit). Cohort and weight belong
    to the tenant: the services keep them equal on all its rows. No row = unlimited."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="quotas"
    )
    pool = models.CharField(max_length=32)
    nominal = models.PositiveIntegerField(default=0)
    borrowing_limit = models.PositiveIntegerField(null=True, blank=True)
    lending_limit = models.PositiveIntegerField(null=True, blank=True)
    cohort = models.CharField(max_length=64, default="default")
    weight = models.FloatField(default=1.0)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)  # why it was last changed

    class Meta:
        ordering = ["organization__slug", "pool"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "pool"], name="tenantquota_one_per_pool"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization_id}/{self.pool}: {self.nominal}"


class TenantUsage(models.Model):
    """Half-life-decayed dominant-share-seconds per tenant, advanced by the leader's loop
    (scheduler.core.quota.decay_usage); fair share among tenants with quotas reads it."""

    organization = models.OneToOneField(
        "tenancy.Organization",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="sched_usage",
    )
    decayed_usage = models.FloatField(default=0.0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.decayed_usage:.1f}"


class Preemption(models.Model):
    """Every preemption the scheduler or an operator issued: who, why, for which job. The
    snapshot reads back `preempted_for` and `displaced` from here (no ping-pong)."""

    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="preemptions")
    attempt = models.PositiveIntegerField()
    for_job_id = models.CharField(max_length=16, blank=True, db_index=True)
    kind = models.CharField(max_length=16)  # reclaim|priority|operator|drain|failure|...
    reason = models.TextField()
    requested_by = models.CharField(max_length=200, blank=True)  # "scheduler" / "user:x"
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["job", "attempt"], name="preemption_job_attempt")]

    def __str__(self) -> str:
        return f"{self.job_id} ({self.kind})"
