"""Every string of a request, at any depth (repeated, maps and their keys), is checked for NUL."""

from __future__ import annotations

from dojo.v1 import job_pb2, scheduler_pb2
from dojocloud.api.request_text import nul_violations


def paths(message: object) -> list[str]:
    return [v.field for v in nul_violations(message)]  # type: ignore[arg-type]


def test_clean_requests_have_no_violations() -> None:
    request = job_pb2.CreateJobRequest(parent="organizations/acme", request_id="r-1")
    request.job_spec.name = "digits"
    request.job_spec.model.params["hidden"] = 8
    assert paths(request) == []


def test_every_nul_is_named_by_its_path() -> None:
    request = job_pb2.CreateJobRequest(request_id="a\x00b")
    request.job_spec.name = "\x00"
    request.job_spec.resources.accelerators.extend(["dojo-tile", "gpu\x00"])
    request.job_spec.model.params["bad\x00key"] = 1
    assert sorted(paths(request)) == [
        "job_spec.model.params (a key)",
        "job_spec.name",
        "job_spec.resources.accelerators[1]",
        "request_id",
    ]


def test_other_services_too() -> None:
    assert paths(scheduler_pb2.DrainRequest(target="dojo/e0\x00", reason="ok")) == ["target"]
