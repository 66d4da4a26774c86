"""A job through the real scheduling loop, for integration tests that run real workers: the
tiny digits spec they submit, and the passes (as the leader would run them) until a
condition holds."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from google.protobuf import json_format

from dojo.v1 import job_pb2
from dojocloud.scheduling.runner import build_loop


def tiny_spec(steps: int, interval: int, precision: str = "bf16") -> job_pb2.JobSpec:
    """A one-layer MLP on digits: seconds a segment on one tile."""
    return json_format.ParseDict(
        {
            "name": "digits-tiny",
            "model": {"architecture": "mlp", "params": {"hidden": 8, "layers": 1}},
            "dataset": {"name": "digits"},
            "training": {
                "steps": steps,
                "batch_size": 16,
                "optimizer": "adam",
                "learning_rate": 0.05,
                "precision": precision,
                "checkpoint_interval": interval,
                "seed": 3,
            },
            "resources": {"accelerators": ["dojo-tile"], "count": 1},
        },
        job_pb2.JobSpec(),
    )


def drive(until: Callable[[], bool], logs: Callable[[], str], timeout: float) -> None:
    """Runs scheduling passes until `until()` holds; fails with the workers' `logs()` when
    `timeout` seconds pass first."""
    loop = build_loop()
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out; worker logs:\n{logs()}")
        loop.run_once()
        time.sleep(0.3)
