"""Callers and a keyed stub for the SchedulerService tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dojo.v1 import scheduler_pb2_grpc
from dojocloud.tenancy.services import Principal


@dataclass(frozen=True)
class Callers:
    operator: str
    operator_viewer: str
    customer: str
    acme: Principal


class Stub:
    """Calls with the caller's key and a deadline on every call."""

    def __init__(self, stub: scheduler_pb2_grpc.SchedulerServiceStub, key: str) -> None:
        self._stub, self._key = stub, key

    def __getattr__(self, method: str) -> Callable[..., object]:
        rpc = getattr(self._stub, method)
        return lambda request: rpc(
            request, timeout=30, metadata=[("authorization", f"Bearer {self._key}")]
        )
