"""Persisted capacity: devices synced from the inventory, placements, the leader lease."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from dojocloud.jobs.models import Job


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
    index = models.PositiveIntegerField(default=0)
    gpus_on_node = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=DeviceStatus.choices,
                              default=DeviceStatus.FREE)
    in_inventory = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.id


class Allocation(models.Model):
    """A device held by a job. The partial unique index is the database's guarantee that
    no device ever holds two active placements."""

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="allocations")
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="allocations")
    attempt = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device"],
                                               condition=Q(released_at__isnull=True),
                                               name="allocation_one_active_per_device")]

    def __str__(self) -> str:
        return f"{self.device_id} -> {self.job_id}"


class SchedulerLease(models.Model):
    """Leader election where there are no advisory locks (SQLite): a row with an expiry."""

    name = models.CharField(max_length=32, primary_key=True)
    holder = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name}: {self.holder}"
