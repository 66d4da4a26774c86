"""The operator client and `dojo ops` rendering against a fake SchedulerService on a real
gRPC server (port 0)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import grpc
import pytest

import dojo.client
import dojo.retrying
from dojo import cli, errors, render
from dojo.config import ClientConfig
from dojo.operator import OperatorClient
from dojo.v1 import scheduler_pb2 as pb
from dojo.v1 import scheduler_pb2_grpc
from tests.support.grpc_server import serving_fake

KEY = "dojo_ops_key"


class FakeScheduler(scheduler_pb2_grpc.SchedulerServiceServicer):
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.deadlines: list[float | None] = []
        self.unavailable_next = 0
        self.quotas: dict[tuple[str, str], pb.Quota] = {}
        self.names: list[str] = []

    def _enter(self, method: str, context: grpc.ServicerContext) -> None:
        self.calls.append(method)
        self.deadlines.append(context.time_remaining())
        if self.unavailable_next > 0:
            self.unavailable_next -= 1
            context.abort(grpc.StatusCode.UNAVAILABLE, "try again")
        if dict(context.invocation_metadata()).get("authorization") != f"Bearer {KEY}":
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "operators only")

    def GetCapacity(self, request, context):
        self._enter("GetCapacity", context)
        holder = pb.DeviceHolder(job="organizations/acme/jobs/j1", tenant="acme", job_name="mnist")
        tiles = [
            pb.TileSlot(id=f"dojo/e0/c0/t0/r{r}c{c}", pool="dojo", row=r, col=c, state="free")
            for r in range(2)
            for c in range(3)
        ]
        tiles[1].state = "busy"
        tiles[1].holder.CopyFrom(holder)
        tiles[5].state = "draining"
        gpus = [pb.GpuSlot(index=i, state="busy" if i < 3 else "free") for i in range(8)]
        gpus[7].state = "failed"
        return pb.Capacity(
            tiles=tiles,
            gpu_nodes=[pb.GpuNodeCapacity(id="gpu-a100/n0", pool="gpu-a100", gpus=gpus)],
            pools=[
                pb.PoolCapacity(
                    pool="dojo",
                    accelerator="dojo-tile",
                    total=6,
                    allocated=1,
                    free=4,
                    unavailable=1,
                    queued=2,
                )
            ],
        )

    def Drain(self, request, context):
        self._enter("Drain", context)
        return pb.OperationResult(target=request.target, devices=1)

    def PreemptJob(self, request, context):
        self._enter("PreemptJob", context)
        self.names.append(request.name)
        return pb.JobPlacement(job=request.name, state="SCHEDULED", preempt_requested=True)

    def RequeueJob(self, request, context):
        self._enter("RequeueJob", context)
        self.names.append(request.name)
        return pb.JobPlacement(job=request.name, state="QUEUED")

    def GetQuota(self, request, context):
        self._enter("GetQuota", context)
        key = (request.tenant, request.pool)
        if key not in self.quotas:
            context.abort(grpc.StatusCode.NOT_FOUND, "no quota")
        return self.quotas[key]

    def SetQuota(self, request, context):
        self._enter("SetQuota", context)
        stored = pb.Quota()
        stored.CopyFrom(request.quota)
        stored.updated_by = "ops@operators"
        self.quotas[stored.tenant, stored.pool] = stored
        return stored


@pytest.fixture
def fake_ops(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeScheduler, str]]:
    monkeypatch.setattr(dojo.retrying, "RETRY_BASE_DELAY", 0.001)
    service = FakeScheduler()
    with serving_fake(
        scheduler_pb2_grpc.add_SchedulerServiceServicer_to_server, service
    ) as address:
        yield service, address


@pytest.fixture
def ops(fake_ops: tuple[FakeScheduler, str]) -> Iterator[OperatorClient]:
    with OperatorClient(ClientConfig(server=fake_ops[1], api_key=KEY, timeout=5)) as client:
        yield client


def test_reads_retry_unavailable_with_a_deadline(
    ops: OperatorClient, fake_ops: tuple[FakeScheduler, str]
) -> None:
    service = fake_ops[0]
    service.unavailable_next = 2
    assert len(ops.get_capacity().tiles) == 6
    assert service.calls == ["GetCapacity"] * 3
    assert all(d is not None and 0 < d <= 5.5 for d in service.deadlines), service.deadlines


def test_actions_are_sent_once(ops: OperatorClient, fake_ops: tuple[FakeScheduler, str]) -> None:
    fake_ops[0].unavailable_next = 1
    with pytest.raises(errors.UnavailableError):
        ops.drain("dojo/e0/c0/t0")
    assert fake_ops[0].calls == ["Drain"]


def test_capacity_draws_the_mesh_and_gpu_nodes(ops: OperatorClient) -> None:
    text = render.capacity(ops.get_capacity())
    lines = text.splitlines()
    tray = lines.index("dojo/e0/c0/t0  (dojo)")
    assert lines[tray + 1 : tray + 4] == ["      c0 c1 c2", "  r0  .  #  .", "  r1  .  .  d"]
    assert "  r0c1 busy: organizations/acme/jobs/j1 (mnist)" in lines
    assert any(line.split() == ["gpu-a100/n0", "gpu-a100", "3/8", "###....X"] for line in lines)
    assert json.loads(render.capacity(ops.get_capacity(), "json"))["pools"][0]["free"] == 4


@pytest.fixture
def ops_env(fake_ops: tuple[FakeScheduler, str], monkeypatch: pytest.MonkeyPatch) -> FakeScheduler:
    monkeypatch.setenv("DOJO_SERVER", fake_ops[1])
    monkeypatch.setenv("DOJO_API_KEY", KEY)
    monkeypatch.setenv("DOJO_TIMEOUT", "5")
    return fake_ops[0]


def test_quota_set_keeps_what_is_not_given(
    ops_env: FakeScheduler, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        cli.main(
            [
                "ops",
                "quota",
                "set",
                "acme",
                "dojo",
                "--nominal",
                "4",
                "--borrowing-limit",
                "2",
                "--cohort",
                "research",
            ]
        )
        == 0
    )
    assert (
        cli.main(
            [
                "ops",
                "quota",
                "set",
                "acme",
                "dojo",
                "--nominal",
                "5",
                "--borrowing-limit",
                "none",
                "-o",
                "json",
            ]
        )
        == 0
    )
    stored = ops_env.quotas["acme", "dojo"]
    assert (stored.nominal, stored.cohort, stored.HasField("borrowing_limit")) == (
        5,
        "research",
        False,
    )
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{") :])["nominal"] == 5


def test_ops_without_an_operator_key_exits_3(
    ops_env: FakeScheduler, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOJO_API_KEY", "dojo_customer")
    assert cli.main(["ops", "capacity"]) == cli.EXIT_API_ERROR
    assert "PERMISSION_DENIED: operators only" in capsys.readouterr().err


def test_preempt_and_requeue_take_the_tenant_and_the_jobs_name(
    ops_env: FakeScheduler, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["ops", "preempt", "acme/digits-mlp", "--reason", "room"]) == 0
    assert cli.main(["ops", "requeue", "organizations/acme/jobs/k3f9"]) == 0
    assert ops_env.names == [
        "organizations/acme/jobs/digits-mlp",
        "organizations/acme/jobs/k3f9",
    ]
