"""The usage ledger: one row per (job, attempt, segment); inserting it twice counts once."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class UsageRecord(models.Model):
    job = models.ForeignKey("jobs.Job", on_delete=models.PROTECT, related_name="usage_records")
    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.PROTECT, related_name="usage_records"
    )
    attempt = models.PositiveIntegerField()
    segment = models.PositiveIntegerField()
    pool = models.CharField(max_length=32)
    accelerator = models.CharField(max_length=32)
    device_count = models.PositiveIntegerField()
    start_step = models.BigIntegerField()
    end_step = models.BigIntegerField()
    samples = models.BigIntegerField(default=0)
    allocated_seconds = models.FloatField()  # devices x wall seconds: what is billed
    device_seconds = models.FloatField()  # the runtime's modelled device time
    wall_seconds = models.FloatField()
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["recorded_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "attempt", "segment"], name="usage_unique_segment"
            )
        ]

    def __str__(self) -> str:
        return f"{self.job_id} a{self.attempt} s{self.segment}: {self.allocated_seconds:.1f}s"
