"""Assembles the API's gRPC server: services, interceptor, health and reflection."""

from __future__ import annotations

import grpc

from dojocloud.api.interceptors import ApiInterceptor
from dojocloud.api.job_service import add_job_service
from dojocloud.api.scheduler_service import add_scheduler_service
from scheduler.server import build_server


def build_api_server(address: str, *, max_workers: int = 16) -> tuple[grpc.Server, int]:
    """Every public service of the API process: JobService for customers, SchedulerService
    for operators. Half the worker threads at most serve WatchJob streams; the rest stay free
    for unary calls."""

    def add_services(server: grpc.Server) -> None:
        add_job_service(server, max_streams=max(1, max_workers // 2))
        add_scheduler_service(server)

    return build_server(add_services, address, max_workers=max_workers,
                        interceptors=[ApiInterceptor()])
