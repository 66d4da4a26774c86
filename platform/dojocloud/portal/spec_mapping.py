"""The portal's one edge between form data and the `JobSpec` proto, both ways, and between the
service's field paths ("training.learning_rate") and form field names."""

from __future__ import annotations

import re
from typing import Any

import yaml

from dojo.v1 import job_pb2
from dojocloud.jobs import facade as jobs
from dojocloud.portal.forms import CATALOG, UPLOADED, catalog_defaults, param_field

# Form field → dotted JobSpec path.
FORM_TO_SPEC_PATH = {
    "name": "name",
    "architecture": "model.architecture",
    "onnx_model": "model.onnx",
    "task": "model.task",
    "dataset": "dataset.name",
    "steps": "training.steps",
    "batch_size": "training.batch_size",
    "optimizer": "training.optimizer",
    "learning_rate": "training.learning_rate",
    "precision": "training.precision",
    "checkpoint_interval": "training.checkpoint_interval",
    "seed": "training.seed",
    "accelerators": "resources.accelerators",
    "count": "resources.count",
    "max_runtime_seconds": "limits.max_runtime_seconds",
    "priority_class": "priority_class",
    "preemptible": "preemptible",
}
_SPEC_PATH_TO_FORM = {path: name for name, path in FORM_TO_SPEC_PATH.items()}
_INDEX = re.compile(r"\[\d+\]")


def spec_from_form(data: dict[str, Any], params: dict[str, int]) -> job_pb2.JobSpec:
    """Cleaned `JobSpecForm` data and the chosen architecture's parameters → JobSpec. Empty
    fields stay at their proto defaults."""
    spec = job_pb2.JobSpec(
        name=data.get("name") or "", priority_class=data.get("priority_class") or ""
    )
    spec.model.architecture = data.get("architecture") or ""
    spec.model.params.update(params)
    if spec.model.architecture == UPLOADED:  # the organization's model, not the catalog's
        spec.model.architecture = ""
        spec.model.onnx = (data.get("onnx_model") or "").strip()
        spec.model.task = data.get("task") or ""
    spec.dataset.name = data.get("dataset") or ""
    t = spec.training
    t.steps = data.get("steps") or 0
    t.batch_size = data.get("batch_size") or 0
    t.optimizer = data.get("optimizer") or ""
    t.learning_rate = data.get("learning_rate") or 0.0
    t.precision = data.get("precision") or ""
    t.checkpoint_interval = data.get("checkpoint_interval") or 0
    t.seed = data.get("seed") or 0
    spec.resources.accelerators.extend(data.get("accelerators") or [])
    spec.resources.count = data.get("count") or 0
    spec.limits.max_runtime_seconds = data.get("max_runtime_seconds") or 0
    spec.preemptible = bool(data.get("preemptible"))
    return spec


def form_initial_from_spec(spec: job_pb2.JobSpec) -> dict[str, Any]:
    """JobSpec → initial values for `JobSpecForm` (used to resubmit a job as a new one)."""
    t = spec.training
    arch = UPLOADED if spec.model.onnx else spec.model.architecture
    return {
        **catalog_defaults(),
        "name": spec.name,
        "architecture": arch,
        **({"onnx_model": spec.model.onnx, "task": spec.model.task} if spec.model.onnx else {}),
        **{param_field(arch, k): v for k, v in spec.model.params.items()},
        "dataset": spec.dataset.name,
        "steps": t.steps or None,
        "batch_size": t.batch_size or None,
        "optimizer": t.optimizer,
        "learning_rate": t.learning_rate or None,
        "precision": t.precision,
        "checkpoint_interval": t.checkpoint_interval or None,
        "seed": t.seed,
        "accelerators": list(spec.resources.accelerators),
        "count": spec.resources.count or None,
        "max_runtime_seconds": spec.limits.max_runtime_seconds or None,
        "priority_class": spec.priority_class or jobs.DEFAULT_PRIORITY_CLASS,
        "preemptible": spec.preemptible,
    }


def form_field_for(spec_path: str, architecture: str = "") -> str | None:
    """'resources.accelerators[1]' → 'accelerators'; 'model.params.hidden' of mlp →
    'param_mlp_hidden'. None when no form field shows that part of the spec (a parameter
    the architecture does not have)."""
    path = _INDEX.sub("", spec_path)
    if path.startswith("model.params"):
        name = path.removeprefix("model.params").lstrip(".")
        info = CATALOG.get(architecture)
        return param_field(architecture, name) if info and name in info.params else None
    while path:
        if path in _SPEC_PATH_TO_FORM:
            return _SPEC_PATH_TO_FORM[path]
        path = path.rpartition(".")[0]
    return None


def yaml_from_spec(spec: job_pb2.JobSpec) -> str:
    """JobSpec → a job file, for specs the form cannot show (a model.onnx)."""
    return yaml.safe_dump(_plain(spec), sort_keys=False)


def _plain(message: Any) -> dict[str, Any]:
    """The set fields as plain values (JSON's mapping would write 64-bit integers as text)."""
    out: dict[str, Any] = {}
    for fd, value in message.ListFields():
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            out[fd.name] = dict(value)
        elif fd.message_type is not None:
            out[fd.name] = _plain(value)
        elif fd.is_repeated:
            out[fd.name] = list(value)
        else:
            out[fd.name] = value
    return out
