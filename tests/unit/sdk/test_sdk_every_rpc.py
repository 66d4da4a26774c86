"""Every RPC of every service in protos/ has a typed method on a sync client and on its
asyncio twin, with the same parameters: JobService ... WebhookService on `dojo.Client` and
`dojo.AsyncClient`, BillingService on `BillingClient` and `AsyncBillingClient`,
SchedulerService on `OperatorClient` and `AsyncOperatorClient`. The async methods are
coroutines (unary calls, uploads, downloads) or async iterators (server streams, paged
lists)."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest
from google.protobuf.descriptor import FileDescriptor

from dojo import (
    AsyncBillingClient,
    AsyncClient,
    AsyncOperatorClient,
    BillingClient,
    Client,
    OperatorClient,
)

PROTOS = Path(__file__).resolve().parents[3] / "protos" / "dojo" / "v1"

# service: (sync client, async client, how many RPCs it has)
SERVICES: dict[str, tuple[type, type, int]] = {
    "JobService": (Client, AsyncClient, 7),  # StreamJobLogs: stream_job_logs (dojo.logs)
    "AuditService": (Client, AsyncClient, 1),
    "DatasetService": (Client, AsyncClient, 5),
    "ModelService": (Client, AsyncClient, 5),
    "ArtifactService": (Client, AsyncClient, 2),
    "WebhookService": (Client, AsyncClient, 5),
    "BillingService": (BillingClient, AsyncBillingClient, 9),
    "SchedulerService": (OperatorClient, AsyncOperatorClient, 10),
}
PAIRS = [
    (Client, AsyncClient),
    (BillingClient, AsyncBillingClient),
    (OperatorClient, AsyncOperatorClient),
]
# GetUploadStatus is the datasets' name too: the model's is get_model_upload_status.
NAMED = {("ModelService", "GetUploadStatus"): "get_model_upload_status"}


def _services_in_protos() -> dict[str, FileDescriptor]:
    """Each `service` declared in protos/dojo/v1/*.proto, with its generated descriptor."""
    found: dict[str, FileDescriptor] = {}
    for proto in sorted(PROTOS.glob("*.proto")):
        module = importlib.import_module(f"dojo.v1.{proto.stem}_pb2")
        for name in re.findall(r"^service\s+(\w+)", proto.read_text(), re.MULTILINE):
            found[name] = module.DESCRIPTOR
    return found


IN_PROTOS = _services_in_protos()


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def _methods(descriptor: FileDescriptor, service: str) -> dict[str, str]:
    rpcs = descriptor.services_by_name[service].methods
    return {m.name: NAMED.get((service, m.name)) or _snake(m.name) for m in rpcs}


def test_every_service_in_protos_has_a_sync_and_an_async_client() -> None:
    assert len(IN_PROTOS) >= 8  # the glob found the protos
    assert sorted(IN_PROTOS) == sorted(SERVICES)


@pytest.mark.parametrize("flavour", [0, 1], ids=["sync", "async"])
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_rpc_of_the_service_has_a_client_method(flavour: int, service: str) -> None:
    client, count = SERVICES[service][flavour], SERVICES[service][2]
    names = _methods(IN_PROTOS[service], service)
    missing = [rpc for rpc, name in names.items() if not callable(getattr(client, name, None))]
    assert missing == []
    assert len(names) == count


def _public(cls: type) -> dict[str, object]:
    return {
        name: member
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and name not in ("close", "from_env")
    }


@pytest.mark.parametrize(("sync_cls", "async_cls"), PAIRS, ids=[p[1].__name__ for p in PAIRS])
def test_async_client_has_every_method_of_its_sync_twin_with_the_same_parameters(
    sync_cls: type, async_cls: type
) -> None:
    sync, aio = _public(sync_cls), _public(async_cls)
    assert sorted(set(sync) ^ set(aio)) == []
    for name, method in sync.items():
        want = list(inspect.signature(method).parameters.values())  # type: ignore[arg-type]
        got = list(inspect.signature(aio[name]).parameters.values())  # type: ignore[arg-type]
        assert [(p.name, p.kind, p.default) for p in got] == [
            (p.name, p.kind, p.default) for p in want
        ], name


@pytest.mark.parametrize(("sync_cls", "async_cls"), PAIRS, ids=[p[1].__name__ for p in PAIRS])
def test_async_methods_are_coroutines_or_async_iterators(sync_cls: type, async_cls: type) -> None:
    sync = _public(sync_cls)
    for name, method in _public(async_cls).items():
        returns = str(inspect.signature(sync[name]).return_annotation)  # type: ignore[arg-type]
        if returns.startswith("Iterator["):  # streams and paged lists
            assert str(inspect.signature(method).return_annotation).startswith(  # type: ignore[arg-type]
                "AsyncIterator["
            ), name
        else:
            assert inspect.iscoroutinefunction(method), name
