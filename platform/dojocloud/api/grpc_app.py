"""Assembles the API's gRPC server: services, interceptor, health and reflection."""

from __future__ import annotations

import grpc

from dojocloud.api.interceptors import ApiInterceptor
from dojocloud.api.job_service import add_job_service
from scheduler.server import build_server


def build_api_server(address: str, *, max_workers: int = 16) -> tuple[grpc.Server, int]:
    """Every public service of the API process (the SchedulerService joins here). Half the
    worker threads at most serve WatchJob streams; the rest stay free for unary calls."""

    def add_services(server: grpc.Server) -> None:
        add_job_service(server, max_streams=max(1, max_workers // 2))

    return build_server(add_services, address, max_workers=max_workers,
                        interceptors=[ApiInterceptor()])
