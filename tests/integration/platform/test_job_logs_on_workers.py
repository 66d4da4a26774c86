"""Durable job logs and failures a customer can act on, on real worker processes, a real
gRPC server (loopback, port 0) and the portal: a job's log has its data-loaded, loss,
checkpoint and evaluation lines and no server path; reading from any offset resumes
exactly; a follower ends by itself when the job is final; a diverging job fails DIVERGED
with its step and its log's last lines; another organization gets NOT_FOUND / 404."""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.test import Client as PortalClient
from platform_worker_procs import Workers

from dojo import cli
from dojo.client import Client
from dojo.config import ClientConfig
from dojo.errors import NotFoundError
from dojo.v1 import job_pb2
from dojocloud.api.grpc_app import build_api_server
from dojocloud.jobs.models import Job
from dojocloud.tenancy.services import create_api_key, create_organization, principal_for_user
from tests.support.driving import drive, tiny_spec
from tests.support.grpc_server import serving

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO|WARNING|ERROR) \S")


def diverging_spec() -> job_pb2.JobSpec:
    """The largest learning rate a spec may ask for, SGD, a deeper MLP: the loss overflows
    within about ten steps (see the runtime's divergence test)."""
    spec = tiny_spec(steps=40, interval=40)
    spec.name = "diverges"
    spec.model.params["hidden"], spec.model.params["layers"] = 64, 3
    spec.training.optimizer, spec.training.learning_rate = "sgd", 10.0
    return spec


@pytest.fixture
def stack(live: Workers, settings, tmp_path: Path) -> Iterator[dict[str, object]]:  # type: ignore[no-untyped-def]
    storage = (tmp_path / "storage").as_uri()
    settings.STORAGE_URL = storage
    alice, bob = User.objects.create_user("alice"), User.objects.create_user("bob")
    create_organization("acme", "Acme", alice)
    create_organization("globex", "Globex", bob)
    acme_key = create_api_key(principal_for_user(alice, "acme"), name="ci")[1]
    globex_key = create_api_key(principal_for_user(bob, "globex"), name="ci")[1]
    with serving(build_api_server("127.0.0.1:0", max_workers=8), 1.0) as address:
        acme = Client(ClientConfig(server=address, api_key=acme_key, timeout=60))
        globex = Client(ClientConfig(server=address, api_key=globex_key, timeout=60))
        live.start(env={"DOJO_STORAGE_URL": storage})
        try:
            yield {
                "acme": acme,
                "globex": globex,
                "address": address,
                "key": acme_key,
                "alice": alice,
                "bob": bob,
            }
        finally:
            acme.close()
            globex.close()


def test_job_logs_and_a_diverged_failure(
    stack: dict[str, object],
    live: Workers,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    acme, globex = stack["acme"], stack["globex"]
    assert isinstance(acme, Client) and isinstance(globex, Client)
    good = acme.create_job(tiny_spec(steps=6, interval=3))
    bad = acme.create_job(diverging_spec())
    followed: list[job_pb2.JobLogChunk] = []
    follower = threading.Thread(
        target=lambda: followed.extend(acme.stream_job_logs(good.name, follow=True)), daemon=True
    )
    follower.start()
    ids = [good.name.rsplit("/", 1)[1], bad.name.rsplit("/", 1)[1]]
    drive(lambda: all(Job.objects.get(id=i).is_final for i in ids), live.logs, timeout=400)
    follower.join(60)
    assert not follower.is_alive(), "the follower did not end when the job was final"

    # The whole log: what the follower got, byte for byte, in order and without gaps.
    whole, end = acme.read_job_log(good.name)
    assert b"".join(c.data for c in followed) == whole and end == len(whole)
    assert [c.offset for c in followed] == [0] + [c.next_offset for c in followed[:-1]]
    text = whole.decode()
    lines = text.splitlines()
    assert all(LINE.match(line) for line in lines), lines
    for expected in (
        "INFO data loaded: digits,",
        "INFO starting at step 0; training to step 3",
        "INFO step 3: loss ",
        "INFO checkpoint saved at step 3 (",
        "INFO resumed from the checkpoint at step 3; training to step 6",
        "INFO step 6: loss ",
        "INFO evaluation on ",
        "INFO checkpoint saved at step 6 (",
    ):
        assert expected in text, (expected, text)
    steps = [int(m[1]) for m in re.finditer(r"INFO step (\d+): loss ", text)]
    assert steps == [1, 2, 3, 4, 5, 6], text  # DOJO_METRIC_EVERY_STEPS=1

    # Resuming at any offset gives exactly the rest.
    for offset in sorted({0, 1, len(lines[0]) + 1, len(whole) // 2, len(whole) - 1, len(whole)}):
        rest, _ = acme.read_job_log(good.name, offset=offset)
        assert rest == whole[offset:]

    # DIVERGED, with the step, the message and the log's last lines.
    failed = acme.get_job(bad.name)
    assert failed.state == job_pb2.FAILED
    assert job_pb2.JobFailure.Reason.Name(failed.failure.reason) == "DIVERGED"
    step = failed.failure.step
    assert failed.failure.HasField("step") and 1 < step < 40
    assert f"at step {step}" in failed.failure.message
    tail = list(failed.failure.last_log_lines)
    assert f"ERROR job failed at step {step}: DIVERGED:" in tail[-1]
    assert any("Diverged: the loss became" in line for line in tail)
    bad_log, _ = acme.read_job_log(bad.name)
    assert bad_log.decode().splitlines()[-1] == tail[-1]
    assert not acme.get_job(good.name).HasField("failure")

    # No server path (the data dir, the repository, the Python installation) in any line.
    server_paths = [str(tmp_path), str(django_settings.REPO_DIR), sys.prefix]
    for line in [*lines, *bad_log.decode().splitlines(), failed.failure.message]:
        assert not any(p in line for p in server_paths), line

    # Another organization: NOT_FOUND over gRPC, 404 in the portal.
    with pytest.raises(NotFoundError):
        list(globex.stream_job_logs(good.name))
    with pytest.raises(NotFoundError):
        list(globex.stream_job_logs(ids[0], follow=True))
    url = f"/jobs/{ids[0]}/log.json"
    outsider, owner = PortalClient(), PortalClient()
    outsider.force_login(stack["bob"])  # type: ignore[arg-type]
    owner.force_login(stack["alice"])  # type: ignore[arg-type]
    assert outsider.get(url).status_code == 404
    page = owner.get(url + "?offset=0").json()
    assert page["text"] == text and page["final"] and not page["more"]
    detail = owner.get(f"/jobs/{ids[1]}/").content.decode()
    assert "DIVERGED" in detail and f"at step {step}" in detail and 'id="job-log"' in detail

    # The CLI: `dojo jobs logs JOB --from-offset N`, and `dojo jobs get` shows the failure.
    monkeypatch.setenv("DOJO_SERVER", str(stack["address"]))
    monkeypatch.setenv("DOJO_API_KEY", str(stack["key"]))
    capsys.readouterr()
    assert cli.main(["jobs", "logs", ids[0], "--from-offset", str(len(lines[0]) + 1)]) == 0
    assert capsys.readouterr().out == text[len(lines[0]) + 1 :]
    assert cli.main(["jobs", "get", ids[1]]) == 0
    shown = capsys.readouterr().out
    assert f"failure:   DIVERGED at step {step}" in shown and "last log:" in shown
