"""The runtime's modelled step time of a job on each accelerator type it accepts, stored at
submit for jobs that accept several (Job.modelled_steps), so the scheduler chooses between
them on the estimator's figures instead of peak throughput alone.

Each alternative gets the device count with the first type's aggregate peak
(scheduler.core.sizing.equivalent_count, on the one figures source,
dojo_runtime.specs.accelerator_figures), within its largest pool; an option whose memory
does not fit is left out (the core then sizes it by peak throughput)."""

from __future__ import annotations

from typing import Any

from dojo.v1 import job_pb2
from dojo_runtime.estimate import DoesNotFit, estimate_config
from dojocloud.common.inventory import pool_sizes
from dojocloud.jobs.runtime_config import train_config
from dojocloud.jobs.validation import dataset_of
from scheduler.core.sizing import equivalent_count
from scheduler.inventory import hardware_figures


def modelled_steps(valid: job_pb2.JobSpec, organization: Any) -> dict[str, list[float]]:
    """{accelerator: [devices, modelled seconds per step]} of a validated spec accepting
    several types; {} for one type or when nothing fits."""
    accels = list(valid.resources.accelerators)
    if len(accels) < 2:
        return {}
    figures, sizes = hardware_figures(), pool_sizes()
    count = int(valid.resources.count) or 1
    options = [(a, equivalent_count(count, accels[0], a, figures)) for a in accels]
    options = [(a, n) for a, n in options if n <= sizes.get(a, 0)]
    config = train_config(valid, dataset=dataset_of(valid, organization))
    try:
        rows = estimate_config(config, options=options)
    except DoesNotFit:
        return {}
    return {r.accelerator: [r.count, r.step_seconds] for r in rows if r.fits}
