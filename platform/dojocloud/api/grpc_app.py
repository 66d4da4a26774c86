"""Assembles the API's gRPC server: services, interceptor, health and reflection, and TLS
when DOJO_GRPC_TLS_CERT and DOJO_GRPC_TLS_KEY name a certificate chain and its key."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import grpc
from django.conf import settings

from dojocloud.api.artifact_service import add_artifact_service
from dojocloud.api.audit_service import add_audit_service
from dojocloud.api.billing_service import add_billing_service
from dojocloud.api.dataset_service import add_dataset_service
from dojocloud.api.interceptors import ApiInterceptor
from dojocloud.api.job_service import add_job_service
from dojocloud.api.model_service import add_model_service
from dojocloud.api.offload import close_stream_pool
from dojocloud.api.request_size import RECEIVE_HEADROOM, RequestSizeLimit
from dojocloud.api.scheduler_service import add_scheduler_service
from dojocloud.api.webhook_service import add_webhook_service
from scheduler.server import AsyncServer, build_server

CERT_VAR = "DOJO_GRPC_TLS_CERT"
KEY_VAR = "DOJO_GRPC_TLS_KEY"


class TLSConfigError(ValueError):
    """A TLS certificate or key that cannot be served; the message names the variable."""


@dataclass(frozen=True, repr=False)
class ServerTLS:
    """A PEM certificate chain and its unencrypted private key, checked to belong together."""

    cert_chain: bytes
    private_key: bytes
    cert_path: str = ""

    def __repr__(self) -> str:  # never the key
        return f"ServerTLS(cert_path={self.cert_path!r})"

    @classmethod
    def load(cls, cert: str | Path, key: str | Path) -> ServerTLS:
        """Reads and checks both files; TLSConfigError names the variable of a bad one."""
        cert_chain = _read(CERT_VAR, cert)
        private_key = _read(KEY_VAR, key)
        if b"-----BEGIN CERTIFICATE-----" not in cert_chain:
            raise TLSConfigError(
                f"{CERT_VAR}: {cert} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
            )
        if b"ENCRYPTED" in private_key:
            raise TLSConfigError(
                f"{KEY_VAR}: {key} is an encrypted private key; gRPC needs it "
                "unencrypted (protect the file instead: mode 600, a secret mount)"
            )
        if b"PRIVATE KEY-----" not in private_key:
            raise TLSConfigError(
                f"{KEY_VAR}: {key} holds no PEM private key (-----BEGIN ... PRIVATE KEY-----)"
            )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(cert, key, password=lambda: b"")
        except ssl.SSLError as exc:
            if "KEY_VALUES_MISMATCH" in str(exc):
                raise TLSConfigError(
                    f"{KEY_VAR}: {key} is not the private key of the "
                    f"certificate in {CERT_VAR} ({cert})"
                ) from None
            raise TLSConfigError(
                f"{CERT_VAR} / {KEY_VAR}: {cert} and {key} cannot be served: {exc}"
            ) from None
        return cls(cert_chain=cert_chain, private_key=private_key, cert_path=str(cert))

    def credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials([(self.private_key, self.cert_chain)])


def tls_from_settings() -> ServerTLS | None:
    """The API's TLS from DOJO_GRPC_TLS_CERT / DOJO_GRPC_TLS_KEY; None when unset."""
    cert, key = settings.GRPC_TLS_CERT, settings.GRPC_TLS_KEY
    if cert is None or key is None:
        return None
    return ServerTLS.load(cert, key)


def build_api_server(
    address: str, *, max_workers: int = 16, tls: ServerTLS | None = None
) -> tuple[AsyncServer, int]:
    """Every public service of the API process: JobService for customers, SchedulerService
    for operators, AuditService for both, on a grpc.aio server. Unary calls run in a pool of
    `max_workers` threads; streams are coroutines (their reads in the separate stream pool,
    DOJO_GRPC_STREAM_THREADS), so any number of them leave the unary threads free. With
    `tls` the port serves TLS only; without, plain text only. A request over
    DOJO_GRPC_MAX_MESSAGE_BYTES is INVALID_ARGUMENT naming the limit."""

    def add_services(server: grpc.Server) -> None:
        add_job_service(server)
        add_dataset_service(server)
        add_model_service(server)
        add_scheduler_service(server)
        add_audit_service(server)
        add_billing_service(server)
        add_artifact_service(server)
        add_webhook_service(server)

    limit = int(settings.GRPC_MAX_MESSAGE_BYTES)
    # RequestSizeLimit inside ApiInterceptor: its InvalidArgument becomes the call's status.
    server, port = build_server(
        add_services,
        address,
        max_workers=max_workers,
        interceptors=[ApiInterceptor(), RequestSizeLimit(limit)],
        credentials=None if tls is None else tls.credentials(),
        max_receive_bytes=limit * RECEIVE_HEADROOM,
    )
    server.on_stop.append(lambda: close_stream_pool(server.loop))
    return server, port


def _read(var: str, path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise TLSConfigError(f"{var}: cannot read {path}: {exc.strerror or exc}") from None
