"""Fuzzing every door a job spec comes through (issue 11's acceptance): CreateJob and
EstimateJob on a real gRPC server in this process (port 0, the test database), the CLI's
file loading (in-process, and a few real `dojo` processes) and the portal's new-job and
estimate pages. Seeded (`derandomize`), so a run is repeatable: >= 5,000 specs, >= 500 job
files, 300 portal forms. Bad input must get a clear answer: never INTERNAL or UNKNOWN (nor
RESOURCE_EXHAUSTED from details outgrowing the metadata limit), never HTTP 500, never a
traceback on stderr or in the server's log.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as WebClient
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dojo import cli, errors, specfile
from dojo.v1 import job_pb2, job_pb2_grpc
from dojocloud.api.grpc_app import build_api_server
from dojocloud.tenancy.services import create_api_key, create_organization, principal_for_user
from tests.support import fuzz_inputs as fz
from tests.support.grpc_server import serving

# About 75 s on a shared 2-core machine: slow, but part of `make test`.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.usefixtures("no_request_limits"),
]

SPECS, FILES, FORMS = 5_000, 500, 300
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
ANSWERS = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ALREADY_EXISTS,  # a request id reused with a different spec (AIP-155)
}


@dataclass
class Stack:
    address: str
    api_key: str
    web: WebClient


@pytest.fixture
def stack(transactional_db: None) -> Iterator[Stack]:
    alice = User.objects.create_user("alice")
    create_organization("acme", "Acme", alice)
    create_organization("globex", "Globex", User.objects.create_user("bob"))
    key = create_api_key(principal_for_user(alice, "acme"), name="fuzz")[1]
    web = WebClient()
    web.force_login(alice)
    with serving(build_api_server("127.0.0.1:0", max_workers=4), 1.0) as address:
        yield Stack(address, key, web)


@pytest.fixture
def server_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.ERROR)
    yield caplog
    tracebacks = [r.getMessage() for r in caplog.records if r.exc_info]
    assert tracebacks == [], f"the server logged {len(tracebacks)} tracebacks: {tracebacks[:3]}"


def _call(rpc: object, request: object, key: str) -> grpc.StatusCode:
    try:
        rpc(request, timeout=60, metadata=(("authorization", f"Bearer {key}"),))  # type: ignore[operator]
    except grpc.RpcError as exc:
        err = errors.from_rpc_error(exc)
        assert exc.code() in ANSWERS, f"{exc.code()}: {exc.details()}"
        if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
            assert err.field_violations, exc.details()  # the details made it through
        return exc.code()
    return grpc.StatusCode.OK


def test_create_and_estimate_answer_every_spec(stack: Stack, server_log: object) -> None:
    codes: Counter[str] = Counter()
    with grpc.insecure_channel(stack.address) as channel:
        stub = job_pb2_grpc.JobServiceStub(channel)

        @settings(FUZZ, max_examples=SPECS)
        @given(spec=fz.job_specs(), request_id=fz.REQUEST_IDS, parent=fz.PARENTS)
        def check(spec: job_pb2.JobSpec, request_id: str, parent: str) -> None:
            create = job_pb2.CreateJobRequest(parent=parent, job_spec=spec, request_id=request_id)
            codes["create:" + _call(stub.CreateJob, create, stack.api_key).name] += 1
            estimate = job_pb2.EstimateJobRequest(job_spec=spec)
            codes["estimate:" + _call(stub.EstimateJob, estimate, stack.api_key).name] += 1

        check()
    assert sum(n for c, n in codes.items() if c.startswith("create:")) >= SPECS
    assert codes["create:OK"] > 0 and codes["create:INVALID_ARGUMENT"] > SPECS // 2, codes


def _cli(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(list(argv))
    return code, err.getvalue()


def _load(path: Path) -> None:
    """The function the CLI calls: a JobSpec, or a SpecError naming the file."""
    try:
        specfile.load(path)
    except errors.SpecError as exc:
        message = str(exc)
        assert message.startswith(f"{path}: "), message
        if exc.field_violations == []:
            assert "\n" not in message, message  # size, encoding, depth, syntax: one line


def _portal(web: WebClient, data: bytes) -> None:
    upload = SimpleUploadedFile("fuzz.yaml", data)
    answer = web.post(reverse("portal:job-estimate"), {"mode": "yaml", "spec_file": upload})
    assert answer.status_code == 200, answer.status_code
    pasted = data.decode("utf-8", "replace")
    answer = web.post(reverse("portal:job-new"), {"mode": "yaml", "spec_yaml": pasted})
    assert answer.status_code in (302, 400), answer.status_code


def test_job_files_through_the_cli_and_the_portal(
    stack: Stack, server_log: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOJO_SERVER", stack.address)
    monkeypatch.setenv("DOJO_API_KEY", stack.api_key)
    path = tmp_path / "job.yaml"
    exits: Counter[int] = Counter()

    @settings(FUZZ, max_examples=FILES)
    @given(data=fz.job_file_bytes())
    def check(data: bytes) -> None:
        path.write_bytes(data)
        _load(path)
        code, err = _cli("jobs", "estimate", str(path))
        exits[code] += 1
        assert code in (cli.EXIT_OK, cli.EXIT_BAD_INPUT), err
        assert "Traceback" not in err and "INTERNAL" not in err and "UNKNOWN" not in err
        _portal(stack.web, data)

    check()
    assert sum(exits.values()) >= FILES and exits[cli.EXIT_BAD_INPUT] > FILES // 2, exits


FORM_FIELDS = [
    "name",
    "architecture",
    "params",
    "dataset",
    "steps",
    "batch_size",
    "optimizer",
    "learning_rate",
    "precision",
    "checkpoint_interval",
    "seed",
    "count",
    "max_runtime_seconds",
    "priority_class",
]
FORM_VALUES = st.one_of(
    fz.TEXT,
    st.integers().map(str),
    st.floats().map(str),
    st.sampled_from(["mlp", "digits", "adam", "bf16", "normal", "10"]),
)


def test_portal_forms(stack: Stack, server_log: object) -> None:
    @settings(FUZZ, max_examples=FORMS)
    @given(
        form=st.fixed_dictionaries({}, optional={f: FORM_VALUES for f in FORM_FIELDS}),
        accelerators=fz.ACCELERATORS,
    )
    def check(form: dict[str, str], accelerators: list[str]) -> None:
        post = {"mode": "form", **form, "accelerators": accelerators}
        answer = stack.web.post(reverse("portal:job-estimate"), post)
        assert answer.status_code == 200, answer.status_code
        answer = stack.web.post(reverse("portal:job-new"), post)
        assert answer.status_code in (302, 400), answer.status_code

    check()


REAL_RUNS = {
    "deep.yaml": b"[" * 5000 + b"]" * 5000,
    "utf16.yaml": "name: x\n".encode("utf-16"),
    "latin1.yaml": "name: café\n".encode("latin-1"),
    "binary.yaml": bytes(range(256)),
    "bomb.yaml": fz._bomb(8).encode(),
    "huge-value.yaml": b"name: x\nresources: {accelerators: [" + b"x" * 20_000 + b"]}\n",
}


def test_real_dojo_processes(stack: Stack, tmp_path: Path) -> None:
    env = {**os.environ, "DOJO_SERVER": stack.address, "DOJO_API_KEY": stack.api_key}
    for name, data in REAL_RUNS.items():
        (tmp_path / name).write_bytes(data)
        for command in ("submit", "estimate"):
            done = subprocess.run(
                [sys.executable, "-m", "dojo.cli", "jobs", command, str(tmp_path / name)],
                env=env,
                capture_output=True,
                timeout=120,
                check=False,
            )
            assert done.returncode == cli.EXIT_BAD_INPUT, (name, done.stderr)
            assert b"Traceback" not in done.stderr and len(done.stderr) < 2_000
            # the file's own problems name the file; the server's name the fields
            assert name.encode() in done.stderr or b"resources.accelerators[0]" in done.stderr
