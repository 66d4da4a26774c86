"""Every RPC of the services `dojo.Client` covers has a typed method on Client and on
`dojo.AsyncClient`, with the same parameters; AsyncClient's are coroutines (unary calls,
uploads, downloads) or async iterators (server streams, paged lists)."""

from __future__ import annotations

import inspect

import pytest
from google.protobuf.descriptor import FileDescriptor

from dojo import AsyncClient, Client
from dojo.v1 import artifact_pb2, audit_pb2, dataset_pb2, job_pb2, model_pb2, webhook_pb2

SERVICES: list[tuple[FileDescriptor, str, int]] = [
    (job_pb2.DESCRIPTOR, "JobService", 7),  # StreamJobLogs: stream_job_logs (dojo.logs)
    (audit_pb2.DESCRIPTOR, "AuditService", 1),
    (dataset_pb2.DESCRIPTOR, "DatasetService", 5),
    (model_pb2.DESCRIPTOR, "ModelService", 5),
    (artifact_pb2.DESCRIPTOR, "ArtifactService", 2),
    (webhook_pb2.DESCRIPTOR, "WebhookService", 5),
]
# GetUploadStatus is the datasets' name too: the model's is get_model_upload_status.
NAMED = {("ModelService", "GetUploadStatus"): "get_model_upload_status"}


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def _methods(descriptor: FileDescriptor, service: str) -> dict[str, str]:
    rpcs = descriptor.services_by_name[service].methods
    return {m.name: NAMED.get((service, m.name)) or _snake(m.name) for m in rpcs}


@pytest.mark.parametrize("client", [Client, AsyncClient], ids=["Client", "AsyncClient"])
@pytest.mark.parametrize(("descriptor", "service", "count"), SERVICES, ids=[s[1] for s in SERVICES])
def test_every_rpc_of_the_service_has_a_client_method(
    client: type, descriptor: FileDescriptor, service: str, count: int
) -> None:
    names = _methods(descriptor, service)
    missing = [rpc for rpc, name in names.items() if not callable(getattr(client, name, None))]
    assert missing == []
    assert len(names) == count


def _public(cls: type) -> dict[str, object]:
    return {
        name: member
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and name not in ("close", "from_env")
    }


def test_async_client_has_every_method_of_client_with_the_same_parameters() -> None:
    sync, aio = _public(Client), _public(AsyncClient)
    assert sorted(set(sync) ^ set(aio)) == []
    for name, method in sync.items():
        want = list(inspect.signature(method).parameters.values())  # type: ignore[arg-type]
        got = list(inspect.signature(aio[name]).parameters.values())  # type: ignore[arg-type]
        assert [(p.name, p.kind, p.default) for p in got] == [
            (p.name, p.kind, p.default) for p in want
        ], name


def test_async_methods_are_coroutines_or_async_iterators() -> None:
    sync = _public(Client)
    for name, method in _public(AsyncClient).items():
        returns = str(inspect.signature(sync[name]).return_annotation)  # type: ignore[arg-type]
        if returns.startswith("Iterator["):  # streams and paged lists
            assert str(inspect.signature(method).return_annotation).startswith(  # type: ignore[arg-type]
                "AsyncIterator["
            ), name
        else:
            assert inspect.iscoroutinefunction(method), name
