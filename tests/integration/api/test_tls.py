"""The API over TLS: the real server (JobService, SchedulerService, interceptor, health) on a
TLS port with a CA made for the run; what `ServerTLS` refuses to serve; and `serve_grpc`
turning TLS on from DOJO_GRPC_TLS_CERT / DOJO_GRPC_TLS_KEY, or stopping with the variable
named."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

import dojo.client
import dojo.retrying
from dojo import errors
from dojo.client import Client
from dojo.config import ClientConfig
from dojo.v1 import job_pb2
from dojocloud.api.grpc_app import ServerTLS, TLSConfigError, build_api_server
from scheduler.server import stop_gracefully
from tests.integration.api.conftest import Keys
from tests.support.grpc_server import serving, serving_address, start_serve_grpc
from tests.support.tls import PKI, make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def tls_server(transactional_db: None, pki: PKI) -> Iterator[tuple[grpc.Server, str]]:
    built = build_api_server("127.0.0.1:0", max_workers=8, tls=ServerTLS.load(pki.cert, pki.key))
    with serving(built, 1.0) as address:
        yield built[0], address


@pytest.fixture
def no_retry_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dojo.retrying, "RETRY_BASE_DELAY", 0.001)


def tls_channel(address: str, ca: Path) -> grpc.Channel:
    return grpc.secure_channel(address, grpc.ssl_channel_credentials(ca.read_bytes()))


def test_sdk_with_the_ca_creates_and_lists_jobs(
    tls_server: tuple[grpc.Server, str], keys: Keys, pki: PKI
) -> None:
    from dojo import specfile

    spec = specfile.parse_yaml("""
name: tls
model: {architecture: mlp, params: {hidden: 8, layers: 1}}
dataset: {name: digits}
training: {steps: 10, batch_size: 16, optimizer: adam, learning_rate: 0.003, seed: 1}
resources: {accelerators: [dojo-tile], count: 1}
""")
    config = ClientConfig(server=tls_server[1], api_key=keys.acme, timeout=30)
    with Client(config, tls_ca=pki.ca) as acme:
        job = acme.create_job(spec)
        assert job.state == job_pb2.QUEUED
        assert [j.name for j in acme.list_jobs()] == [job.name]
    with (
        Client(
            ClientConfig(server=tls_server[1], api_key="dojo_nope_nope", timeout=30), tls_ca=pki.ca
        ) as stranger,
        pytest.raises(errors.UnauthenticatedError),
    ):
        stranger.list_jobs_page()  # the interceptor still checks keys behind TLS


def test_client_without_the_ca_fails_clearly(
    tls_server: tuple[grpc.Server, str], keys: Keys, no_retry_wait: None
) -> None:
    with (
        Client(
            ClientConfig(server=tls_server[1], api_key=keys.acme, timeout=30), tls=True
        ) as client,
        pytest.raises(errors.UnavailableError) as info,
    ):
        client.list_jobs_page()
    assert "not signed by a CA the system trusts" in info.value.message
    assert "DOJO_TLS_CA" in info.value.message


def test_plain_text_client_gets_nothing_from_a_tls_port(
    tls_server: tuple[grpc.Server, str], keys: Keys, no_retry_wait: None
) -> None:
    with (
        Client(ClientConfig(server=tls_server[1], api_key=keys.acme, timeout=30)) as client,
        pytest.raises(errors.UnavailableError, match="DOJO_TLS=1"),
    ):
        client.list_jobs_page()
    with grpc.insecure_channel(tls_server[1]) as channel, pytest.raises(grpc.RpcError) as info:
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE


def test_health_reflection_and_graceful_stop_over_tls(transactional_db: None, pki: PKI) -> None:
    server, port = build_api_server(
        "127.0.0.1:0", max_workers=4, tls=ServerTLS.load(pki.cert, pki.key)
    )
    server.start()
    stopper = threading.Thread(target=stop_gracefully, args=(server, 2.0))
    try:
        with tls_channel(f"127.0.0.1:{port}", pki.ca) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            for name in ("", "dojo.v1.JobService", "dojo.v1.SchedulerService"):
                reply = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=10)
                assert reply.status == health_pb2.HealthCheckResponse.SERVING, name
            services = set(ProtoReflectionDescriptorDatabase(channel).get_services())
            assert {"dojo.v1.JobService", "dojo.v1.SchedulerService"} <= services
            watch = health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=10)
            assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
            stopper.start()
            # stop_gracefully knows this server: health turns NOT_SERVING before it stops.
            assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
    finally:
        if stopper.ident is None:  # failed before the stop began
            server.stop(0)
        stopper.join(10)


# --- what ServerTLS refuses ---------------------------------------------------------------


def test_missing_files_name_their_variable(pki: PKI, tmp_path: Path) -> None:
    with pytest.raises(TLSConfigError, match=r"^DOJO_GRPC_TLS_CERT: cannot read .*missing"):
        ServerTLS.load(tmp_path / "missing.pem", pki.key)
    with pytest.raises(TLSConfigError, match=r"^DOJO_GRPC_TLS_KEY: cannot read .*missing"):
        ServerTLS.load(pki.cert, tmp_path / "missing.key")
    with pytest.raises(TLSConfigError, match="^DOJO_GRPC_TLS_KEY: cannot read"):
        ServerTLS.load(pki.cert, tmp_path)  # a folder, not a file


def test_swapped_or_mismatched_files_are_refused(pki: PKI) -> None:
    with pytest.raises(TLSConfigError, match="^DOJO_GRPC_TLS_CERT: .* holds no PEM certificate"):
        ServerTLS.load(pki.key, pki.key)
    with pytest.raises(TLSConfigError, match="^DOJO_GRPC_TLS_KEY: .* holds no PEM private key"):
        ServerTLS.load(pki.cert, pki.cert)
    with pytest.raises(TLSConfigError, match="is not the private key of the certificate"):
        ServerTLS.load(pki.cert, pki.other_key)


def test_encrypted_key_is_refused(pki: PKI, tmp_path: Path) -> None:
    encrypted = tmp_path / "encrypted.key"
    subprocess.run(
        [
            "openssl",
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            str(pki.key),
            "-out",
            str(encrypted),
            "-passout",
            "pass:secret",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    with pytest.raises(TLSConfigError, match="^DOJO_GRPC_TLS_KEY: .* encrypted"):
        ServerTLS.load(pki.cert, encrypted)


def test_repr_keeps_the_key_out(pki: PKI) -> None:
    tls = ServerTLS.load(pki.cert, pki.key)
    assert "PRIVATE" not in repr(tls) and str(pki.cert) in repr(tls)


# --- serve_grpc ---------------------------------------------------------------------------


def serve_grpc(tmp_path: Path, **env: str) -> subprocess.Popen[str]:
    return start_serve_grpc(tmp_path, 1, **env)


def test_serve_grpc_serves_tls_from_the_environment(pki: PKI, tmp_path: Path) -> None:
    proc = serve_grpc(tmp_path, DOJO_GRPC_TLS_CERT=str(pki.cert), DOJO_GRPC_TLS_KEY=str(pki.key))
    try:
        address = serving_address(proc, " with TLS")
        with tls_channel(address, pki.ca) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="dojo.v1.JobService"), timeout=10
            )
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        with grpc.insecure_channel(address) as channel, pytest.raises(grpc.RpcError):
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0


@pytest.mark.parametrize(
    "env, named",
    [
        (
            {"DOJO_GRPC_TLS_CERT": "{missing}", "DOJO_GRPC_TLS_KEY": "{key}"},
            "DOJO_GRPC_TLS_CERT: cannot read",
        ),
        (
            {"DOJO_GRPC_TLS_CERT": "{cert}", "DOJO_GRPC_TLS_KEY": "{missing}"},
            "DOJO_GRPC_TLS_KEY: cannot read",
        ),
        ({"DOJO_GRPC_TLS_CERT": "{cert}"}, "DOJO_GRPC_TLS_KEY is required"),
    ],
)
def test_serve_grpc_stops_naming_the_bad_variable(
    pki: PKI, tmp_path: Path, env: dict[str, str], named: str
) -> None:
    paths = {"cert": str(pki.cert), "key": str(pki.key), "missing": str(tmp_path / "nope.pem")}
    proc = serve_grpc(tmp_path, **{k: v.format(**paths) for k, v in env.items()})
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert named in out
    assert "serving on" not in out
