"""The `dojo` CLI against the real API server: jobs by name, by short id and by resource
name; an ambiguous name lists the ids; a request id reused with another spec is
ALREADY_EXISTS; `-o json` is JSON with numbers as numbers; errors are printed once; a closed
pipe ends quietly; an address where nothing listens is one clean line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from devstack import REPO, free_port
from dojo import cli
from tests.integration.api.conftest import Keys

EXAMPLE = str(REPO / "examples" / "digits-mlp.yaml")
DOJO = str(Path(sys.executable).with_name("dojo"))


@pytest.fixture
def as_acme(keys: Keys, address: str, monkeypatch: pytest.MonkeyPatch) -> Keys:
    monkeypatch.setenv("DOJO_SERVER", address)
    monkeypatch.setenv("DOJO_API_KEY", keys.acme)
    monkeypatch.setenv("DOJO_TIMEOUT", "30")
    for name in ("DOJO_TLS", "DOJO_TLS_CA", "DOJO_INSECURE"):
        monkeypatch.delenv(name, raising=False)
    return keys


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def job_file(tmp_path: Path, name: str, steps: int = 300) -> str:
    text = Path(EXAMPLE).read_text().replace("name: digits-mlp", f"name: {name}")
    path = tmp_path / f"{name}-{steps}.yaml"
    path.write_text(text.replace("steps: 300", f"steps: {steps}"))
    return str(path)


def submit(capsys: pytest.CaptureFixture[str], path: str, *extra: str) -> dict[str, object]:
    code, out, err = run(capsys, "jobs", "submit", path, "-o", "json", *extra)
    assert code == cli.EXIT_OK, err
    job = json.loads(out)
    assert isinstance(job, dict)
    return job


def test_jobs_by_name_short_id_and_resource_name(
    as_acme: Keys, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    solo = submit(capsys, job_file(tmp_path, "solo"))
    name = str(solo["name"])
    job_id = name.rsplit("/", 1)[1]
    for ref in ("solo", job_id, job_id[:5], name):
        code, out, err = run(capsys, "jobs", "get", ref)
        assert code == cli.EXIT_OK, (ref, err)
        assert out.splitlines()[0] == "name:      solo" and job_id in out
    # The list shows names, not only random ids, with what the job runs on and its progress.
    code, out, _ = run(capsys, "jobs", "list")
    header, row = out.splitlines()[:2]
    assert header.split() == ["NAME", "ID", "STATE", "ACCELERATORS", "PROGRESS", "AGE", "COST"]
    assert row.split()[:7] == ["solo", job_id, "QUEUED", "1", "x", "dojo-tile", "0/300"]
    code, out, _ = run(capsys, "jobs", "cancel", "solo", "--reason", "by name")
    assert code == cli.EXIT_OK and "CANCELLED (by name)" in out
    # watch by name: the job is final, so the stream ends; one JSON object per line.
    code, out, _ = run(capsys, "jobs", "watch", "solo", "-o", "json")
    assert code == cli.EXIT_JOB_FAILED
    lines = [json.loads(line) for line in out.splitlines()]
    assert [e["state_change"]["to_state"] for e in lines if "state_change" in e] == [
        "QUEUED",
        "CANCELLED",
    ]
    assert all(isinstance(e["id"], int) for e in lines[:-1])
    assert lines[-1]["name"] == name and lines[-1]["state"] == "CANCELLED"


def test_an_ambiguous_name_lists_the_ids_once(
    as_acme: Keys, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    twins = [str(submit(capsys, job_file(tmp_path, "twin"))["name"]) for _ in range(2)]
    code, _, err = run(capsys, "jobs", "get", "twin")
    assert code == cli.EXIT_BAD_INPUT
    (line,) = err.splitlines()  # one line, said once
    assert line.startswith("error: name: 2 jobs are named 'twin': ")
    assert all(t.rsplit("/", 1)[1] in line for t in twins)
    code, _, err = run(capsys, "jobs", "get", "nobody")
    assert code == cli.EXIT_API_ERROR and err.count("\n") == 1 and "NOT_FOUND" in err


def test_another_organization_cannot_reach_a_job_by_its_name(
    as_acme: Keys,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    job_id = str(submit(capsys, job_file(tmp_path, "secret"))["name"]).rsplit("/", 1)[1]
    monkeypatch.setenv("DOJO_API_KEY", as_acme.globex)
    for ref in ("secret", job_id, job_id[:5]):
        code, _, err = run(capsys, "jobs", "get", ref)
        assert code == cli.EXIT_API_ERROR and "NOT_FOUND" in err


def test_a_request_id_names_one_request(
    as_acme: Keys, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first = submit(capsys, job_file(tmp_path, "retry"), "--request-id", "ci-42")
    again = submit(capsys, job_file(tmp_path, "retry"), "--request-id", "ci-42")
    assert again["name"] == first["name"]  # a retry of the same request: the same job
    other = job_file(tmp_path, "retry", steps=200)
    code, out, err = run(capsys, "jobs", "submit", other, "--request-id", "ci-42")
    assert code == cli.EXIT_API_ERROR and out == ""
    (line,) = err.splitlines()
    assert line.startswith("error: ALREADY_EXISTS: request_id 'ci-42' was already used for ")
    assert str(first["name"]) in line


def test_json_numbers_are_numbers(
    as_acme: Keys, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    job = submit(capsys, job_file(tmp_path, "numbers"))
    spec = job["spec"]
    assert isinstance(spec, dict)
    assert spec["training"]["steps"] == 300 and spec["training"]["seed"] == 7
    assert spec["model"]["params"] == {"hidden": 128, "layers": 2}
    code, out, _ = run(capsys, "jobs", "list", "-o", "json")
    listed = json.loads(out)
    assert code == 0 and listed[0]["spec"]["training"]["batch_size"] == 64


def test_errors_are_printed_once_in_the_portals_words(
    as_acme: Keys, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    text = Path(EXAMPLE).read_text().replace("learning_rate: 0.003", "learning_rate: -1")
    bad.write_text(text.replace("steps: 300", "steps: 0"))
    code, _, err = run(capsys, "jobs", "submit", str(bad))
    assert code == cli.EXIT_BAD_INPUT
    lines = err.splitlines()
    assert lines[0] == "error: The job was not submitted. Fix these fields:"
    fields = [line.split(":")[0].strip() for line in lines[1:]]
    assert sorted(fields) == sorted(set(fields))  # each field once
    assert {"training.learning_rate", "training.steps"} <= set(fields)
    assert ";" not in err


def test_estimates_read_in_units(as_acme: Keys, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "jobs", "estimate", EXAMPLE)
    assert code == 0
    # Not the old `0.0 s  $0.0000`: a small job's time and cost with digits that say something.
    assert not re.search(r"(^|\s)0\.0 s", out) and not re.search(r"\$0\.0+(\s|$)", out)
    rows = [line.split() for line in out.splitlines()[1:]]
    assert rows and all(r[3] in ("µs", "ms", "s", "min", "h", "d") for r in rows)  # the step
    assert all(r[6].startswith("$") and float(r[6][1:]) > 0 for r in rows)  # the cost


def test_a_closed_pipe_ends_quietly(as_acme: Keys, settings: object) -> None:
    import os

    from dojo import specfile
    from dojocloud.jobs import services as jobs
    from dojocloud.tenancy.services import authenticate_api_key

    settings.CREATE_JOB_RATE = 0  # type: ignore[attr-defined]  # this test makes many at once
    owner, spec = authenticate_api_key(as_acme.acme), specfile.load(EXAMPLE)
    for _ in range(150):  # enough JSON to fill the pipe past what `head` reads
        jobs.create_job(owner, spec)
    env = dict(os.environ)
    res = subprocess.run(
        ["bash", "-c", f"{DOJO} jobs list --limit 0 -o json | head -1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.stdout == "[\n"
    assert "Traceback" not in res.stderr and res.stderr == ""
    size = subprocess.run(
        ["bash", "-c", f"{DOJO} jobs list --limit 0 -o json | wc -c"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert int(size.stdout) > 2 * 65536  # more than a pipe holds: the writer met a closed pipe
    assert "Traceback" not in res.stderr and res.stderr == ""


def test_nothing_listening_is_one_clean_line(
    as_acme: Keys, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import dojo.client

    monkeypatch.setattr(dojo.retrying, "RETRY_BASE_DELAY", 0.001)
    server = f"127.0.0.1:{free_port()}"
    code, _, err = run(capsys, "--server", server, "jobs", "list")
    assert code == cli.EXIT_API_ERROR
    assert err.splitlines() == [
        f"error: UNAVAILABLE: cannot reach the Dojo Cloud API at {server} (connection "
        "refused); is it running, and is DOJO_SERVER (--server) right?"
    ]
