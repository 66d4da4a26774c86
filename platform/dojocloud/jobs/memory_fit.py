"""Admission by memory: a job must fit the memory of the devices it asks for.

Each accepted accelerator type is one option: the first at `resources.count`, an alternative
at the count the scheduler sizes it to (scheduler.core.sizing.equivalent_count: the same
aggregate peak). An option is offered when the runtime's peak memory per device
(dojo_runtime.memory) fits one device. Options that are not offered are dropped from
`resources.accelerators`, keeping the order. When the preferred type is dropped, the first
offered type whose largest pool holds its sized count leads, at that count (what the
scheduler would have given it). With none offered, the job is refused: INVALID_ARGUMENT on
the field to change (`resources.count`, `training.batch_size`, or `model.params` when no
count or batch can help), with every option's figures.
"""

from __future__ import annotations

from dojo.v1 import job_pb2
from dojo_runtime.config import CustomData, CustomModel, TrainConfig
from dojo_runtime.memory import GIB, Fit, fits, largest_batch_that_fits
from dojocloud.common.errors import FieldViolation
from dojocloud.common.inventory import inventory, pool_sizes
from dojocloud.jobs.runtime_config import train_config
from scheduler.core.sizing import equivalent_count


def check_memory(
    spec: job_pb2.JobSpec,
    errors: list[FieldViolation],
    data: CustomData | None = None,
    model: CustomModel | None = None,
) -> None:
    """Trims spec.resources to the options that fit, or adds the violation why none does.
    Runs after the other checks, on a spec whose other fields are valid."""
    if errors:
        return
    config = train_config(spec, dataset=data, model=model)
    sizes = pool_sizes()
    first = spec.resources.accelerators[0]
    figures = inventory().figures
    options = [
        (a, equivalent_count(spec.resources.count, first, a, figures))
        for a in spec.resources.accelerators
    ]
    try:
        table = fits(config, options)
    except ValueError as exc:  # an uploaded dataset's shapes the model cannot take, or an
        # uploaded model that does not fit the data (named field: model.onnx, model.task)
        field, _, message = str(exc).partition(": ")
        if not field.startswith(("dataset.", "model.")):
            raise
        errors.append(FieldViolation(field, message))
        return
    offered = [f for f in table if f.fits]
    if offered and not table[0].fits:
        # The preferred type is dropped: the next one that its largest pool can hold leads.
        placeable = [i for i, f in enumerate(offered) if f.count <= sizes.get(f.accelerator, 0)]
        offered = offered[placeable[0] :] if placeable else []
    if not offered:
        errors.append(_refusal(config, table, sizes))
        return
    if len(offered) < len(table):
        del spec.resources.accelerators[:]
        spec.resources.accelerators.extend(f.accelerator for f in offered)
        spec.resources.count = offered[0].count


def dropped_note(asked: job_pb2.JobSpec, valid: job_pb2.JobSpec) -> str:
    """ "; not offered: gpu-a100 (...)" when validation dropped accepted types, else ""."""
    kept = set(valid.resources.accelerators)
    dropped = [a for a in asked.resources.accelerators if a not in kept]
    if not dropped or not asked.resources.accelerators:
        return ""
    return (
        f"; not offered: {', '.join(dropped)} (peak memory per device does not fit; "
        f"see the estimate)"
    )


def gib(n: float) -> str:
    value = n / GIB
    return f"{value:,.0f} GiB" if value >= 1000 else f"{value:.3g} GiB"


def _refusal(config: TrainConfig, table: list[Fit], sizes: dict[str, int]) -> FieldViolation:
    """The field to change, with every option's figures."""
    batch = config.batch_size
    figures = "; ".join(_figures(f) for f in table)
    complete = [f for f in table if f.complete]
    if not complete:
        return FieldViolation(
            "model.params",
            (
                f"the model does not fit: {figures}. Every device of a data-parallel job holds "
                f"the whole model; choose a smaller model"
            ),
        )
    f = complete[0]
    per_device = largest_batch_that_fits(
        config, Fit(f.accelerator, 1, f.needed_bytes, f.available_bytes, True)
    )
    if per_device < 1:
        return FieldViolation(
            "model.params",
            (f"one sample's activations do not fit: {figures}; choose a smaller model or context"),
        )
    need = -(-batch // per_device)
    most = per_device * f.count
    if need <= sizes.get(f.accelerator, 0):
        return FieldViolation(
            "resources.count",
            (
                f"{figures}; {need} x {f.accelerator} hold a batch of {batch} "
                f"(or lower training.batch_size to at most {most})"
            ),
        )
    pool = sizes.get(f.accelerator, 0)
    return FieldViolation(
        "training.batch_size",
        (
            f"{figures}; at most {most} fits on {f.count} x {f.accelerator} "
            f"({per_device * pool} on {pool}, its largest pool)"
        ),
    )


def _figures(f: Fit) -> str:
    need = gib(f.needed_bytes) if f.complete else f"at least {gib(f.needed_bytes)}"
    return f"{f.count} x {f.accelerator} needs {need} per device, has {gib(f.available_bytes)}"
