"""Jobs' public entry: the only module of jobs that other apps import.

The job record's services (submit, read, list, cancel, estimate), spec validation, the state
machine and its conditional transitions, the stop flags a worker polls, and the ports a
job's moments are published through. The model classes other apps read are re-exported as
they are (converting every cross-app read to dataclasses is beyond this seam)."""

from dojocloud.jobs import lifecycle, stored_spec
from dojocloud.jobs.control import (
    STOP_CANCEL,
    STOP_PREEMPT,
    clear_stop,
    request_stop,
    stop_requested,
)
from dojocloud.jobs.job_logs import LogRead, append_log, log_tail, read_job_log
from dojocloud.jobs.models import Checkpoint, Job, JobEvent
from dojocloud.jobs.operator_cancel import cancel_job_as_operator
from dojocloud.jobs.ports import (
    Failure,
    FailureReason,
    JobAdmission,
    JobCancelled,
    JobFinished,
    JobSubmitted,
    LostLease,
    MissingSubscriber,
    Outcome,
    SegmentEnded,
    SegmentRun,
    job_admitting,
    job_cancelled,
    job_finished,
    job_submitted,
    record_from_reason,
    segment_ended,
)
from dojocloud.jobs.runtime_config import train_config
from dojocloud.jobs.services import (
    cancel_job,
    create_job,
    estimate_job,
    get_job,
    job_events,
    jobs_for,
    latest_event_id,
    list_jobs,
    resolve_job,
    resolve_tenant_job,
    spec_of,
)
from dojocloud.jobs.transitions import record_state_event, transition
from dojocloud.jobs.validation import (
    ARCHITECTURE_CATALOG,
    ARCHITECTURES,
    DATASET_CATALOG,
    DEFAULT_PRIORITY_CLASS,
    OPTIMIZERS,
    PRECISIONS,
    PRIORITY_CLASSES,
    RESOURCES_GIVEN,
    TASKS,
    validate_spec,
)

__all__ = [
    "ARCHITECTURES",
    "ARCHITECTURE_CATALOG",
    "DATASET_CATALOG",
    "DEFAULT_PRIORITY_CLASS",
    "OPTIMIZERS",
    "PRECISIONS",
    "TASKS",
    "PRIORITY_CLASSES",
    "RESOURCES_GIVEN",
    "STOP_CANCEL",
    "STOP_PREEMPT",
    "Checkpoint",
    "Failure",
    "FailureReason",
    "Job",
    "JobAdmission",
    "JobCancelled",
    "JobEvent",
    "JobFinished",
    "JobSubmitted",
    "LogRead",
    "LostLease",
    "MissingSubscriber",
    "Outcome",
    "SegmentEnded",
    "SegmentRun",
    "append_log",
    "cancel_job",
    "cancel_job_as_operator",
    "clear_stop",
    "create_job",
    "estimate_job",
    "get_job",
    "job_admitting",
    "job_cancelled",
    "job_events",
    "job_finished",
    "job_submitted",
    "jobs_for",
    "latest_event_id",
    "lifecycle",
    "log_tail",
    "list_jobs",
    "read_job_log",
    "record_from_reason",
    "record_state_event",
    "stored_spec",
    "request_stop",
    "resolve_job",
    "resolve_tenant_job",
    "segment_ended",
    "spec_of",
    "stop_requested",
    "train_config",
    "transition",
    "validate_spec",
]
