"""A job's artifacts, produced on a worker once it SUCCEEDED (a Celery task that takes the
job's id, on the job's pool queue: never in the API).

From the job's latest checkpoint, read back from object storage and checked against its
sha256: `weights.safetensors` (the model's named tensors), `model.onnx` (the trained model
in FP32, see dojo_runtime.export), `metrics.csv` (step, loss, accuracy, samples/s from the
job's metric events), `spec.json` (the job spec as the API returns it) and the job's kept
checkpoints (`checkpoint-step-{step}.pt`, the checkpoint objects themselves, not copies).
A job on an uploaded ONNX model gets its own file back with the trained weights.
Jobs cancelled or failed produce none: what they trained stays in their checkpoints, which
go when the job's row does. Running the task again replaces the same artifacts."""

from __future__ import annotations

import csv
import io
import logging

from google.protobuf import json_format

from dojo_runtime.config import REGRESSION_TASK, CustomModel
from dojocloud.artifacts.facade import record_artifact, record_stored
from dojocloud.datasets.facade import fetch_model_path, is_dataset_name, resolve, resolve_model
from dojocloud.execution.celery_app import app
from dojocloud.execution.checkpoints import latest_checkpoint
from dojocloud.execution.dispatch import PRODUCE_ARTIFACTS_TASK
from dojocloud.jobs.facade import Checkpoint, Job, JobEvent, lifecycle, spec_of, train_config

log = logging.getLogger(__name__)
METRIC_COLUMNS = ("step", "loss", "accuracy", "samples_per_second")
# A regression's: the loss is its mean squared error, and there is no accuracy.
REGRESSION_COLUMNS = {"step": "step", "mse": "loss", "samples_per_second": "samples_per_second"}


def send_produce(job_id: str, pool: str) -> None:
    try:
        app.send_task(PRODUCE_ARTIFACTS_TASK, args=[job_id], queue=pool, retry=False)
    except Exception as exc:  # broker down: the job stays without artifacts (logged loudly)
        log.error("artifacts of %s not queued on %s: %s", job_id, pool, exc)


def produce_artifacts(job_id: str) -> list[str]:
    """Records the artifacts of a SUCCEEDED job; returns their names (none otherwise)."""
    job = Job.objects.select_related("organization").filter(id=job_id).first()
    if job is None or job.state != lifecycle.SUCCEEDED:
        return []
    restored = latest_checkpoint(job.id)
    if restored is None:
        log.warning("job %s: no readable checkpoint, no weights or model", job.id)
        names = []
    else:
        names = _model_artifacts(job, restored[1])
    spec_json = json_format.MessageToJson(spec_of(job), indent=2).encode()
    record_artifact(job, "spec.json", spec_json, "application/json")
    regression = spec_of(job).model.task == REGRESSION_TASK
    record_artifact(job, "metrics.csv", metrics_csv(job.id, regression=regression), "text/csv")
    names += ["spec.json", "metrics.csv"]
    for c in Checkpoint.objects.filter(job_id=job.id).order_by("step"):
        name = f"checkpoint-step-{c.step:010d}.pt"
        record_stored(job, name, c.key, c.size_bytes, c.sha256, "application/octet-stream")
        names.append(name)
    return names


def _model_artifacts(job: Job, blob: bytes) -> list[str]:
    # Imported here: the web and gRPC processes that discover the tasks never need torch.
    from dojo_runtime.export import onnx_model, weights_safetensors

    spec = spec_of(job)
    uploaded = is_dataset_name(spec.dataset.name)
    data = resolve(job.organization, spec.dataset.name) if uploaded else None
    config = train_config(spec, dataset=data.meta if data else None, model=_custom_model(job))
    record_artifact(
        job, "weights.safetensors", weights_safetensors(blob), "application/octet-stream"
    )
    record_artifact(job, "model.onnx", onnx_model(config, blob), "application/onnx")
    return ["weights.safetensors", "model.onnx"]


def _custom_model(job: Job) -> CustomModel | None:
    """The job's uploaded ONNX model with its file, fetched into this worker's cache."""
    spec = spec_of(job)
    if not spec.model.onnx:
        return None
    model = resolve_model(job.organization, spec.model.onnx)
    graph = fetch_model_path(model).read_bytes()  # checked against its sha256 when parsed
    return CustomModel(model.sha256, spec.model.task or "classification", graph)


def metrics_csv(job_id: str, *, regression: bool = False) -> bytes:
    """One row per metric event; a regression's columns are step, mse, samples_per_second."""
    columns = REGRESSION_COLUMNS if regression else {c: c for c in METRIC_COLUMNS}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    events = JobEvent.objects.filter(job_id=job_id, kind=JobEvent.KIND_METRIC).order_by("id")
    for data in events.values_list("data", flat=True):
        writer.writerow(["" if data.get(c) is None else data[c] for c in columns.values()])
    return out.getvalue().encode()
