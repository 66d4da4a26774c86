"""Artifacts' public entry: the only module of artifacts that other apps import.

A job's artifacts (organizations/{org}/jobs/{job}/artifacts/{artifact}): recorded by the
worker side (execution) when a job that trained ends, listed and downloaded by the API and
the portal, pruned after DOJO_ARTIFACT_RETENTION_DAYS. Below execution, above jobs."""

from dojocloud.artifacts.models import Artifact
from dojocloud.artifacts.services import (
    artifacts_for,
    get_artifact,
    job_artifacts,
    list_artifacts,
    open_artifact,
    prune_expired,
    record_artifact,
    record_stored,
)

__all__ = [
    "Artifact",
    "artifacts_for",
    "get_artifact",
    "job_artifacts",
    "list_artifacts",
    "open_artifact",
    "prune_expired",
    "record_artifact",
    "record_stored",
]
