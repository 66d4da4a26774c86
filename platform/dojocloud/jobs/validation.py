"""The one place job specs are validated. Every bad field is reported by its dotted name
("training.learning_rate", "resources.accelerators[1]", "model.params.hidden")."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from django.conf import settings

from dojo.v1 import job_pb2
from dojo_runtime.catalog import ARCHITECTURES as CATALOG_ARCHITECTURES
from dojo_runtime.catalog import validate_params
from dojo_runtime.catalog.imported import task_error
from dojo_runtime.config import CustomData, CustomModel
from dojo_runtime.data import BUILT_IN, DATASETS, describe, meta_kind
from dojocloud.common.errors import FieldViolation, InvalidArgument, shown
from dojocloud.common.inventory import pool_sizes
from dojocloud.datasets.facade import fetch_model, is_dataset_name, resolve, resolve_model
from dojocloud.jobs.memory_fit import check_memory
from dojocloud.jobs.runtime_config import ONNX
from dojocloud.jobs.stored_spec import DEFAULT_ACCELERATOR, DEFAULT_DEVICE_COUNT
from dojocloud.tenancy.facade import Organization
from scheduler.core.priority import DEFAULT_PRIORITY_CLASS, PRIORITY_CLASSES

NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
ARCHITECTURES = tuple(CATALOG_ARCHITECTURES)  # the runtime catalog is the one list
# The catalogs as the pages show them: each architecture's parameters and limits, and the
# built-in datasets with the architectures they suit.
ARCHITECTURE_CATALOG = CATALOG_ARCHITECTURES
# The built-in datasets (a job names uploaded ones by resource name).
DATASET_CATALOG = {n: e for n, e in DATASETS.items() if not e.customer}
OPTIMIZERS = ("sgd", "adam", "adamw")
TASKS = ("classification", "regression", "language_model")  # of an uploaded model (model.task)
DEFAULT_TASK = "classification"
PRECISIONS = ("fp32", "bf16", "cfp8")
# PRIORITY_CLASSES (names and values) are the scheduler core's; a spec names one exactly.
MAX_STEPS = 10_000_000
MAX_BATCH = 65_536
DEFAULT_CHECKPOINT_INTERVAL = 100
NO_SERVER_PATHS = (
    "'npz' with a server path (dataset.uri) is no longer accepted: upload the file with "
    "`dojo datasets upload FILE --name ID` and name it organizations/{org}/datasets/{ID}"
)
Violations = list[FieldViolation]
Data = CustomData | None  # an uploaded dataset's shapes; None for a built-in one


# Paths whose empty value a caller may declare an answer rather than an omission.
RESOURCES_GIVEN = frozenset({"resources.accelerators", "resources.count"})


def validate_spec(
    spec: job_pb2.JobSpec,
    *,
    organization: Organization | None = None,
    given: frozenset[str] = frozenset(),
) -> job_pb2.JobSpec:
    """Returns a copy with defaults filled; raises InvalidArgument listing every bad field.

    An uploaded dataset resolves within `organization`: NotFound when it is missing or
    another organization's (the two look the same). `given` names fields the caller showed
    the user (a form shows every field): their empty values are errors, not omissions to
    default. A job file that leaves out `resources` still gets the default accelerator and
    count."""
    out = job_pb2.JobSpec()
    out.CopyFrom(spec)
    errors: Violations = []
    _check_given(out, given, errors)
    data = dataset_of(out, organization, errors)
    model = model_of(out, organization, errors)
    for check in _CHECKS:
        check(out, errors, data)
    check_memory(out, errors, data, model)  # last: it needs the rest valid; trims accelerators
    if errors:
        raise InvalidArgument(errors)
    return out


def _check_given(spec: job_pb2.JobSpec, given: frozenset[str], errors: Violations) -> None:
    r = spec.resources
    if "resources.accelerators" in given and not r.accelerators:
        errors.append(
            FieldViolation("resources.accelerators", "choose at least one accelerator type")
        )
        r.accelerators.append(DEFAULT_ACCELERATOR)  # so the other checks still judge count
    if "resources.count" in given and r.count < 1:
        errors.append(FieldViolation("resources.count", "must be at least 1"))


def dataset_of(
    spec: job_pb2.JobSpec, organization: Organization | None, errors: Violations | None = None
) -> Data:
    """The uploaded dataset a spec names, as the runtime needs it (None for a built-in)."""
    name = spec.dataset.name
    if not is_dataset_name(name):
        return None
    if organization is None:
        (errors if errors is not None else []).append(
            FieldViolation("dataset.name", "an uploaded dataset is resolved by the API only")
        )
        return None
    return resolve(organization, name).meta


def model_of(
    spec: job_pb2.JobSpec, organization: Organization | None, errors: Violations | None = None
) -> CustomModel | None:
    """The uploaded ONNX model a spec names in `model.onnx`, with its file (fetched into
    this machine's cache by sha256); None when the spec names an architecture."""
    name = spec.model.onnx
    if not name:
        return None
    if organization is None:
        (errors if errors is not None else []).append(
            FieldViolation("model.onnx", "an uploaded model is resolved by the API only")
        )
        return None
    resolved = resolve_model(organization, name)
    task = spec.model.task or DEFAULT_TASK
    return CustomModel(resolved.sha256, task, fetch_model(resolved))


def _check_name(spec: job_pb2.JobSpec, errors: Violations, data: Data) -> None:
    if not spec.name:
        errors.append(FieldViolation("name", "is required"))
    elif not NAME_RE.match(spec.name):
        errors.append(
            FieldViolation(
                "name",
                "must be 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'",
            )
        )


def _check_onnx(spec: job_pb2.JobSpec, errors: Violations) -> None:
    """`model.onnx` instead of an architecture: how it fits the data is judged by the
    runtime when the memory check builds it (model.onnx / model.task violations)."""
    m = spec.model
    if m.architecture not in ("", ONNX):
        errors.append(
            FieldViolation("model.architecture", "leave it empty when model.onnx names a model")
        )
    if m.params:
        errors.append(FieldViolation("model.params", "an uploaded model takes no size parameters"))
    m.architecture = ONNX
    m.task = m.task or DEFAULT_TASK
    if m.task not in TASKS:
        errors.append(FieldViolation("model.task", f"must be one of {', '.join(TASKS)}"))


def _check_task(spec: job_pb2.JobSpec, errors: Violations, data: Data) -> None:
    """An uploaded dataset records what its y holds (labels or float targets) at upload;
    whether that suits model.task is judged here, before any model is built."""
    if data is None or spec.model.task not in TASKS:
        return
    problem = task_error(spec.model.task, describe(spec.dataset.name, data))
    if problem is not None:
        errors.append(FieldViolation(*problem))


def _check_model(spec: job_pb2.JobSpec, errors: Violations, data: Data) -> None:
    if spec.model.onnx:
        _check_onnx(spec, errors)
        _check_task(spec, errors, data)
        return
    if spec.model.task:
        errors.append(FieldViolation("model.task", "applies to an uploaded model (model.onnx)"))
    arch = spec.model.architecture
    if not arch:
        errors.append(FieldViolation("model.architecture", "is required"))
        return
    if arch not in ARCHITECTURES:
        errors.append(
            FieldViolation("model.architecture", f"must be one of {', '.join(ARCHITECTURES)}")
        )
        return
    reported = {e.field for e in errors}
    # The runtime's catalog knows each architecture's parameters and the datasets it suits.
    kind = meta_kind(data) if data is not None else spec.dataset.name
    for field, message in validate_params(arch, dict(spec.model.params), kind):
        name = field if "." in field else f"model.params.{field}"
        if name not in reported:  # e.g. dataset.name, already judged by _check_dataset
            errors.append(FieldViolation(name, message))
            reported.add(name)


def _check_dataset(spec: job_pb2.JobSpec, errors: Violations, data: Data) -> None:
    name = spec.dataset.name
    if not name:
        errors.append(FieldViolation("dataset.name", "is required"))
    elif name == "npz":
        errors.append(FieldViolation("dataset.name", NO_SERVER_PATHS))
    elif name not in BUILT_IN and not is_dataset_name(name):
        # Judged here, not only with the model: an unknown architecture must not hide it.
        errors.append(
            FieldViolation(
                "dataset.name",
                f"unknown dataset {shown(name)}; choose one of {list(BUILT_IN)} or an uploaded "
                "dataset, organizations/{org}/datasets/{id}",
            )
        )
    # Whether the architecture trains on it is judged by the runtime's catalog with the model.


def _check_training(spec: job_pb2.JobSpec, errors: Violations, data: Data) -> None:
    t = spec.training
    if not 1 <= t.steps <= MAX_STEPS:
        errors.append(FieldViolation("training.steps", f"must be between 1 and {MAX_STEPS}"))
    if not 1 <= t.batch_size <= MAX_BATCH:
        errors.append(FieldViolation("training.batch_size", f"must be between 1 and {MAX_BATCH}"))
    t.optimizer = t.optimizer or "adam"
    if t.optimizer not in OPTIMIZERS:
        errors.append(
            FieldViolation("training.optimizer", f"must be one of {', '.join(OPTIMIZERS)}")
        )
    if not (math.isfinite(t.learning_rate) and 0 < t.learning_rate <= 10):
        errors.append(
            FieldViolation(
                "training.learning_rate", "must be a number greater than 0 and at most 10"
            )
        )
    t.precision = t.precision or "fp32"
    if t.precision not in PRECISIONS:
        errors.append(
            FieldViolation("training.precision", f"must be one of {', '.join(PRECISIONS)}")
        )
    if t.checkpoint_interval == 0 and t.steps > 0:
        t.checkpoint_interval = min(t.steps, DEFAULT_CHECKPOINT_INTERVAL)
    if t.checkpoint_interval < 1 or (t.steps > 0 and t.checkpoint_interval > t.steps):
        errors.append(
            FieldViolation("training.checkpoint_interval", "must be between 1 and training.steps")
        )
    if t.seed < 0:
        errors.append(FieldViolation("training.seed", "must not be negative"))


def _check_resources(spec: job_pb2.JobSpec, errors: Violations, data: Data) -> None:
    r = spec.resources
    if not r.accelerators:
        r.accelerators.append(DEFAULT_ACCELERATOR)
    count_reported = any(e.field == "resources.count" for e in errors)  # by _check_given
    if r.count == 0 and not count_reported:
        r.count = DEFAULT_DEVICE_COUNT
    sizes = pool_sizes()
    seen: set[str] = set()
    for i, accel in enumerate(r.accelerators):
        if accel in seen:
            errors.append(FieldViolation(f"resources.accelerators[{i}]", "is listed twice"))
        elif accel not in sizes:
            errors.append(
                FieldViolation(
                    f"resources.accelerators[{i}]",
                    f"{shown(accel)} is not in this cluster; available: {', '.join(sorted(sizes))}",
                )
            )
        seen.add(accel)
    first = r.accelerators[0]
    if count_reported:
        return
    if r.count < 1:
        errors.append(FieldViolation("resources.count", "must be at least 1"))
    elif first in sizes and r.count > sizes[first]:
        errors.append(
            FieldViolation(
                "resources.count", f"{r.count} {first} exceeds the largest pool ({sizes[first]})"
            )
        )


def _check_limits(spec: job_pb2.JobSpec, errors: Violations, data: Data) -> None:
    limit = int(settings.MAX_RUNTIME_LIMIT_S)
    if spec.limits.max_runtime_seconds == 0:
        spec.limits.max_runtime_seconds = int(settings.DEFAULT_MAX_RUNTIME_S)
    if not 1 <= spec.limits.max_runtime_seconds <= limit:
        errors.append(
            FieldViolation("limits.max_runtime_seconds", f"must be between 1 and {limit}")
        )


def _check_priority(spec: job_pb2.JobSpec, errors: Violations, data: Data) -> None:
    spec.priority_class = spec.priority_class or DEFAULT_PRIORITY_CLASS
    if spec.priority_class not in PRIORITY_CLASSES:
        errors.append(
            FieldViolation("priority_class", f"must be one of {', '.join(PRIORITY_CLASSES)}")
        )


PLACEMENTS = ("fastest", "cheapest")


def _check_placement(spec: job_pb2.JobSpec, errors: Violations, data: Data) -> None:
    # "" is the default, fastest: left empty so specs stored before the field compare equal.
    if spec.placement not in ("", *PLACEMENTS):
        errors.append(FieldViolation("placement", f"must be one of {', '.join(PLACEMENTS)}"))


_CHECKS: tuple[Callable[[job_pb2.JobSpec, Violations, Data], None], ...] = (
    _check_name,
    _check_dataset,
    _check_model,
    _check_training,
    _check_resources,
    _check_limits,
    _check_placement,
    _check_priority,
)
