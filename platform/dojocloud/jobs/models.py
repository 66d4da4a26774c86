"""Jobs, their event log and their checkpoints. The database is the system of record."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import connections, models, router, transaction
from django.db.models import F, Q
from django.db.models.fields.json import KeyTransform
from django.utils import timezone

from dojocloud.jobs import lifecycle
from dojocloud.jobs.stored_spec import DEFAULT_DEVICE_COUNT, default_accelerators
from scheduler.core.priority import DEFAULT_PRIORITY_CLASS, priority_value

_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def new_job_id() -> str:
    """Short, URL-safe, random; starts with a letter so it reads as a name."""
    return secrets.choice(_ID_ALPHABET[:26]) + "".join(
        secrets.choice(_ID_ALPHABET) for _ in range(11)
    )


# The states are lifecycle's (names match the proto enum dojo.v1.JobState); labels "Queued", ...
STATE_CHOICES = [(state, state.title()) for state in lifecycle.ALL_STATES]


class Job(models.Model):
    id = models.CharField(max_length=16, primary_key=True, default=new_job_id, editable=False)
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.PROTECT, related_name="jobs"
    )
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    creator_label = models.CharField(max_length=200, blank=True)  # "user:alice" / "key:ci"
    name = models.CharField(max_length=63)
    # The validated JobSpec; written and read only through dojocloud.jobs.stored_spec.
    spec = models.JSONField()
    request_id = models.CharField(max_length=100, blank=True)
    # Typed columns from the spec (stored_spec.encode), for readers that rank or list jobs:
    # the priority class's value (scheduler.core.priority owns names and values), the
    # accelerator types it accepts (preferred first; a JSON list like `devices`, so the order
    # survives), and how many of the first type.
    priority = models.IntegerField(default=priority_value(DEFAULT_PRIORITY_CLASS))
    accepted_accelerators = models.JSONField(default=default_accelerators)
    device_count = models.PositiveIntegerField(default=DEFAULT_DEVICE_COUNT)

    state = models.CharField(
        max_length=16, choices=STATE_CHOICES, default=lifecycle.QUEUED, db_index=True
    )
    state_reason = models.TextField(blank=True)
    # A FAILED job's classified reason: ports.Failure.record() (reason, message, step,
    # last_log_lines); null otherwise.
    failure = models.JSONField(null=True, blank=True)
    # Times a worker holding the job went silent (re-dispatched by the scheduler's recovery);
    # past settings.MAX_LOST_WORKERS the job FAILS with NODE_FAILURE.
    lost_workers = models.PositiveIntegerField(default=0)
    attempt = models.PositiveIntegerField(default=0)  # +1 each time the job is admitted
    current_step = models.BigIntegerField(default=0)
    total_steps = models.BigIntegerField(default=0)  # spec training.steps (stored_spec)
    preemptible = models.BooleanField(default=False)  # spec preemptible (stored_spec)
    pending_reason = models.TextField(blank=True)
    queue_position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    # Placement of the current attempt (the Allocation rows are the authority).
    pool = models.CharField(max_length=32, blank=True)
    accelerator = models.CharField(max_length=32, blank=True)
    devices = models.JSONField(default=list, blank=True)

    # Usage totals, mirrored from the billing ledger when a row is inserted.
    allocated_seconds = models.FloatField(default=0.0)
    device_seconds = models.FloatField(default=0.0)
    wall_seconds = models.FloatField(default=0.0)
    samples_trained = models.BigIntegerField(default=0)
    latest_metrics = models.JSONField(null=True, blank=True)
    # The held-out evaluation at the end of the last segment: {step, loss, accuracy, samples}.
    evaluation = models.JSONField(null=True, blank=True)
    max_runtime_seconds = models.PositiveIntegerField(default=0)  # spec limits (stored_spec)
    cheapest_first = models.BooleanField(default=False)  # spec placement == "cheapest"
    # The runtime's modelled seconds per step on each accepted type, for jobs accepting
    # several: {accelerator: [devices, step seconds]} (jobs.modelled, at submit).
    modelled_steps = models.JSONField(default=dict, blank=True)

    # Dispatch: a segment runs only under the current token, claimed by one worker lease.
    segment = models.PositiveIntegerField(default=0)  # next segment index in this attempt
    dispatch_token = models.CharField(max_length=32, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    preempt_requested = models.BooleanField(default=False)
    preempt_reason = models.TextField(blank=True)
    last_checkpoint_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "request_id"],
                condition=~Q(request_id=""),
                name="job_unique_request_id_per_org",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="job_org_created")
        ]

    def __str__(self) -> str:
        return f"{self.resource_name} ({self.state})"

    @property
    def resource_name(self) -> str:
        return f"organizations/{self.organization.slug}/jobs/{self.id}"

    @property
    def is_final(self) -> bool:
        return lifecycle.is_final(self.state)


def lock_event_logs(job_ids: Iterable[str], using: str | None = None) -> None:
    """Takes the row locks of these jobs (in id order) until the transaction ends.

    Every insert of a JobEvent runs under its job's row lock, so the ids of one job's events
    are handed out in the order their transactions commit: a watcher that has read up to id
    N of a job never sees an id below N appear later. (PostgreSQL draws ids from a sequence
    at insert time; without the lock a transaction holding id N could commit after one
    holding N+1 was already read, and resuming "after N+1" would skip it.) SQLite has one
    writer at a time, and nothing to lock."""
    alias = using or router.db_for_write(Job)
    if not connections[alias].features.has_select_for_update:
        return
    ids = sorted(set(job_ids))
    if ids:
        # FOR NO KEY UPDATE: serialises event writers (and job updates) of the job, not the
        # foreign-key checks of rows that merely reference it.
        list(
            Job.objects.using(alias)
            .select_for_update(no_key=True)
            .filter(id__in=ids)
            .order_by("id")
            .values_list("id", flat=True)
        )


# The type: ignores: django-stubs' plugin keeps a QuerySet subclass generic in its model, so
# super() here is QuerySet[_Model] (its bulk_create takes and returns _Model, not JobEvent).
class JobEventQuerySet(models.QuerySet["JobEvent"]):
    def bulk_create(  # type: ignore[override]
        self, objs: Iterable[JobEvent], *args: Any, **kwargs: Any
    ) -> list[JobEvent]:
        objs = list(objs)
        with transaction.atomic(using=self.db, savepoint=False):
            lock_event_logs((o.job_id for o in objs), using=self.db)
            return super().bulk_create(objs, *args, **kwargs)  # type: ignore[arg-type, return-value]


class JobEvent(models.Model):
    """kind "state": {from, to, reason}; kind "metric": step, loss, accuracy, ...

    The autoincrement id orders events and lets WatchJob (and the portal) resume after the
    last one seen: ids of one job's events commit in increasing order, because every insert
    takes the job's row lock first (see lock_event_logs; save and bulk_create do it). A job
    has at most one metric event per training step: a segment re-run after a lost lease or a
    preemption writes its steps again, and those are ignored (ProgressRecorder) or refused."""

    KIND_STATE = "state"
    KIND_METRIC = "metric"

    id = models.BigAutoField(primary_key=True)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events")
    time = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=8, choices=[("state", "state"), ("metric", "metric")])
    data = models.JSONField()

    objects = JobEventQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["job", "id"], name="jobevent_job_id")]
        constraints = [
            models.UniqueConstraint(
                F("job"),
                KeyTransform("step", "data"),
                condition=Q(kind="metric"),
                name="jobevent_one_metric_per_step",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.job_id}#{self.id} {self.kind}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """`job_locked=True`: the caller's transaction holds the job's row lock already (it
        inserted the job: no other transaction can write its events before it commits)."""
        job_locked = bool(kwargs.pop("job_locked", False))
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using, savepoint=False):
            if not job_locked:
                lock_event_logs([self.job_id], using=using)
            super().save(*args, **kwargs)


class Checkpoint(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="checkpoints")
    step = models.BigIntegerField()
    attempt = models.PositiveIntegerField()
    segment = models.PositiveIntegerField()
    key = models.CharField(max_length=500)  # object storage key (dojocloud.common.storage)
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-step"]
        constraints = [
            models.UniqueConstraint(fields=["job", "step"], name="checkpoint_unique_step")
        ]

    def __str__(self) -> str:
        return f"{self.job_id}@{self.step}"


class JobLogChunk(models.Model):
    """One piece of a job's log: an object in storage (object stores have no append) and its
    place in the whole log. Chunks of a job are numbered from 0 without gaps and cover byte
    offsets [offset, offset + size) back to back, so a reader resumes at any byte offset."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="log_chunks")
    seq = models.PositiveIntegerField()
    offset = models.BigIntegerField()
    size = models.PositiveIntegerField()
    key = models.CharField(max_length=200)  # storage key, jobs/{job}/logs/{seq:08d}
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["job", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["job", "seq"], name="joblogchunk_unique_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.job_id} log#{self.seq}"

    @property
    def end(self) -> int:
        return self.offset + self.size
