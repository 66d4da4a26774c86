"""The `dojo` CLI against a fake JobService on a real gRPC server."""

import json
import math
from pathlib import Path
from typing import Any

import pytest

from dojo import cli
from dojo.v1 import job_pb2

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = str(REPO / "examples" / "digits-mlp.yaml")


@pytest.fixture
def env(fake: tuple[Any, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("DOJO_SERVER", fake[1])
    monkeypatch.setenv("DOJO_API_KEY", "dojo_test_key")
    monkeypatch.setenv("DOJO_TIMEOUT", "5")
    return fake[0]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_submit_prints_the_job(env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "jobs", "submit", EXAMPLE)
    assert code == 0
    assert "organizations/acme/jobs/" in out and "QUEUED" in out
    assert len(env.jobs) == 1


def test_submit_json_with_request_id_is_idempotent(
    env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    first = json.loads(
        run(capsys, "-o", "json", "jobs", "submit", EXAMPLE, "--request-id", "same")[1]
    )
    second = json.loads(
        run(capsys, "jobs", "submit", EXAMPLE, "--request-id", "same", "--output", "json")[1]
    )
    assert first["name"] == second["name"]
    assert first["spec"]["training"]["precision"] == "bf16"
    assert len(env.jobs) == 1


def _submit_and_finish(
    env: Any, capsys: pytest.CaptureFixture[str], state: int, reason: str = ""
) -> job_pb2.Job:
    run(capsys, "jobs", "submit", EXAMPLE)
    job = next(iter(env.jobs.values()))
    env.finish(job, state, reason=reason)
    return job


def test_watch_exits_zero_on_success_with_progress(
    env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    job = _submit_and_finish(env, capsys, job_pb2.SUCCEEDED)
    code, out, err = run(capsys, "jobs", "watch", job.name)
    assert code == 0
    assert "SUCCEEDED" in out
    assert "QUEUED -> RUNNING: placed" in err
    assert "loss=1.0000" in err and "30/300" in err  # the tqdm bar: step and loss


@pytest.mark.parametrize(
    ("state", "reason"),
    [(job_pb2.FAILED, "tile fault: out of memory"), (job_pb2.CANCELLED, "cancelled by user")],
)
def test_watch_fails_with_the_reason(
    env: Any, capsys: pytest.CaptureFixture[str], state: int, reason: str
) -> None:
    job = _submit_and_finish(env, capsys, state, reason)
    code, _, err = run(capsys, "jobs", "watch", job.uid)
    assert code == cli.EXIT_JOB_FAILED
    assert reason in err and job_pb2.JobState.Name(state) in err


def test_watch_json_prints_event_lines(env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    job = _submit_and_finish(env, capsys, job_pb2.SUCCEEDED)
    code, out, _ = run(capsys, "jobs", "watch", job.name, "-o", "json")
    assert code == 0
    lines = out.strip().splitlines()
    parsed = [json.loads(line) for line in lines]  # every line is one JSON object
    events = parsed[:5]
    assert [e["id"] for e in events] == [1, 2, 3, 4, 5]  # int64 as JSON numbers
    assert events[1]["metric"]["loss"] == 2.0
    assert parsed[-1]["name"] == job.name and parsed[-1]["state"] == "SUCCEEDED"
    assert isinstance(parsed[-1]["spec"]["training"]["steps"], int)


def test_submit_wait_follows_to_the_end(env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    env.finish_on_create = job_pb2.SUCCEEDED
    code, out, _ = run(capsys, "jobs", "submit", EXAMPLE, "--wait")
    assert code == 0 and "SUCCEEDED" in out


def test_get_list_cancel_estimate(env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "jobs", "submit", EXAMPLE)
    job = next(iter(env.jobs.values()))
    assert "progress:  0/300 steps (0%)" in run(capsys, "jobs", "get", job.name)[1]
    code, out, _ = run(capsys, "jobs", "list")
    assert code == 0 and job.uid in out and "QUEUED" in out
    assert "CANCELLED" in run(capsys, "jobs", "cancel", job.name, "--reason", "no")[1]
    code, _, err = run(capsys, "jobs", "cancel", job.name)
    assert code == cli.EXIT_API_ERROR and "FAILED_PRECONDITION" in err
    code, out, _ = run(capsys, "jobs", "estimate", EXAMPLE)
    assert code == 0 and "cheapest" in out and "fastest" in out
    # Memory per device beside time and cost; an option that does not fit says so.
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "MEMORY/DEVICE" in out and "6 GiB / 74.5 GiB" in lines["gpu-h100"]
    assert "50 GiB / 37.3 GiB" in lines["gpu-a100"] and "does not fit" in lines["gpu-a100"]
    assert "does not fit" not in lines["dojo-tile"]


def test_bad_spec_file_names_the_field_and_file(
    env: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ntraining:\n  stepz: 3\n")
    code, _, err = run(capsys, "jobs", "submit", str(bad))
    assert code == cli.EXIT_BAD_INPUT
    assert "training.stepz" in err and "bad.yaml" in err
    assert env.calls == []  # rejected before any call


def test_server_rejection_names_the_field(
    env: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "lr.yaml"
    bad.write_text("name: x\ntraining: {steps: 3, learning_rate: 0}\n")
    code, _, err = run(capsys, "jobs", "submit", str(bad))
    assert code == cli.EXIT_BAD_INPUT
    # In the portal's words, each field once (not a `;`-joined line and then the list).
    assert err.splitlines() == [
        "error: The job was not submitted. Fix these fields:",
        "  training.learning_rate: must be > 0",
    ]


def test_missing_key_and_unknown_job(
    env: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(capsys, "jobs", "get", "nope")
    assert code == cli.EXIT_API_ERROR and "NOT_FOUND" in err
    monkeypatch.setenv("DOJO_API_KEY", "")
    code, _, err = run(capsys, "jobs", "get", "nope")
    assert code == cli.EXIT_API_ERROR and "UNAUTHENTICATED" in err


def test_bad_timeout_is_bad_input(env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--timeout", "-3", "jobs", "list")
    assert code == cli.EXIT_BAD_INPUT and "timeout" in err


@pytest.mark.parametrize(
    ("cost_usd", "shown"),
    [
        ("", "-"),
        ("0", "$0"),
        ("0.000153", "$0.000153"),
        ("0.05125", "$0.0512"),
        ("12.345", "$12.34"),
    ],
)
def test_job_list_shows_the_cost_so_far_as_decimal_money(cost_usd: str, shown: str) -> None:
    from dojo import render

    job = job_pb2.Job(name="organizations/acme/jobs/abc123", usage=job_pb2.Usage(cost_usd=cost_usd))
    job.spec.name = "digits-mlp"
    header, row = render.job_list([job]).splitlines()
    assert header.split()[-1] == "COST" and row.split()[-1] == shown
    assert ("cost:" in render.job(job)) == bool(cost_usd)


@pytest.mark.parametrize(
    ("point", "shown"),
    [
        (
            job_pb2.MetricPoint(step=40, loss=0.01234, accuracy=math.nan, loss_function="mse"),
            "mse=0.01234 at step 40 (held out)",
        ),
        (
            job_pb2.MetricPoint(step=6, loss=0.5, accuracy=0.9, loss_function="cross_entropy"),
            "loss=0.5000 acc=0.900 at step 6 (held out)",
        ),
    ],
)
def test_jobs_get_shows_the_evaluation_saying_what_its_loss_is(
    point: job_pb2.MetricPoint, shown: str
) -> None:
    from dojo import render

    job = job_pb2.Job(name="organizations/acme/jobs/abc123", state=job_pb2.SUCCEEDED)
    assert "evaluation:" not in render.job(job)
    job.evaluation.CopyFrom(point)
    line = next(r for r in render.job(job).splitlines() if r.startswith("evaluation:"))
    assert line.split(":", 1)[1].strip() == shown
