"""`manage.py serve_grpc`: the API/scheduler process.

Serves JobService (with health and reflection) on DOJO_GRPC_ADDR, with TLS when
DOJO_GRPC_TLS_CERT and DOJO_GRPC_TLS_KEY are set, runs the scheduling loop in a thread,
exposes Prometheus metrics on DOJO_GRPC_METRICS_PORT when set, and on SIGTERM or SIGINT stops
taking calls, lets in-flight ones finish for the grace period, and exits.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dojo.config import is_local
from dojocloud.api.event_stream import draining
from dojocloud.api.grpc_app import TLSConfigError, build_api_server, tls_from_settings
from dojocloud.common.metrics import serve_metrics
from dojocloud.scheduling.facade import start_scheduler
from scheduler.server import BindError, stop_gracefully

log = logging.getLogger("dojocloud.api")


class Command(BaseCommand):
    help = "Run the gRPC API (JobService) and the scheduling loop until SIGTERM/SIGINT."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default=None, help="host:port (default DOJO_GRPC_ADDR)")
        parser.add_argument(
            "--grace",
            type=float,
            default=10.0,
            help="seconds in-flight calls get to finish on shutdown",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=32,
            help="threads serving unary calls (streams are coroutines and need none)",
        )
        parser.add_argument(
            "--no-scheduler",
            action="store_true",
            help="serve the API only (another process schedules)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        address = options["addr"] or str(settings.GRPC_ADDR)
        metrics_port = settings.GRPC_METRICS_PORT
        try:
            tls = tls_from_settings()
        except TLSConfigError as exc:
            raise CommandError(str(exc)) from None
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, _setter(stop))
        try:
            server, port = build_api_server(address, max_workers=options["workers"], tls=tls)
        except BindError as exc:
            raise CommandError(str(exc)) from None
        if metrics_port is not None:
            serve_metrics(metrics_port)
        server.start()
        scheduler = None
        if not options["no_scheduler"]:
            scheduler = start_scheduler(stop)
        self.stdout.write(
            f"gRPC API serving on {address} (port {port}) {'with TLS' if tls else 'in plain text'}",
            ending="\n",
        )
        self.stdout.flush()
        if tls is None and not is_local(address):
            log.warning(
                "serving %s without TLS: API keys cross the network in plain text. "
                "Set DOJO_GRPC_TLS_CERT and DOJO_GRPC_TLS_KEY, or terminate TLS in "
                "front of this port.",
                address,
            )
        stop.wait()
        self.stdout.write("shutting down: draining calls", ending="\n")
        draining.set()
        stop_gracefully(server, options["grace"])
        if scheduler is not None:
            scheduler.join(timeout=options["grace"])
        self.stdout.write("stopped", ending="\n")


def _setter(stop: threading.Event) -> Any:
    def handler(signum: int, frame: FrameType | None) -> None:
        log.info("received signal %s", signal.Signals(signum).name)
        stop.set()

    return handler
