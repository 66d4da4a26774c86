"""A job's artifacts: what a job that trained leaves behind (weights, the ONNX model,
metrics, its spec, its checkpoints). The rows are the system of record; the bytes live in
object storage (dojocloud.common.storage) under `storage_key`."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Artifact(models.Model):
    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="artifacts")
    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(max_length=100)  # the id in the resource name: model.onnx, ...
    storage_key = models.CharField(max_length=500)
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)  # None: kept

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "name"], name="one_artifact_name_per_job")
        ]
        indexes = [models.Index(fields=["expires_at"], name="artifact_expiry")]

    @property
    def resource_name(self) -> str:
        return f"organizations/{self.organization.slug}/jobs/{self.job_id}/artifacts/{self.name}"
