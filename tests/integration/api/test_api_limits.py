"""Limits on guessing API keys (per peer address) and on CreateJob (per organization), on a
real API server and a real Redis. The server also listens on [::1], so a test has two peers
with different addresses (127.0.0.1 and ::1)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from dojo import errors, specfile
from dojo.client import Client
from dojo.config import ClientConfig
from dojocloud.api.grpc_app import build_api_server
from dojocloud.api.guessing import peer_address
from tests.integration.api.conftest import Keys
from tests.support.grpc_server import serving

pytestmark = pytest.mark.django_db(transaction=True)

SPEC = specfile.parse_yaml("""
name: digits-mlp
model: {architecture: mlp, params: {hidden: 8, layers: 1}}
dataset: {name: digits}
training: {steps: 10, batch_size: 16, optimizer: adam, learning_rate: 0.003,
           precision: bf16, checkpoint_interval: 10, seed: 1}
resources: {accelerators: [dojo-tile], count: 1}
""")


@pytest.fixture
def limited(settings, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    settings.REDIS_URL = redis_url
    settings.AUTH_FAILURE_LIMIT = 3
    settings.AUTH_FAILURE_WINDOW_S = 2.0
    settings.CREATE_JOB_RATE = 2


@pytest.fixture
def dial(limited: None, transactional_db: None) -> Iterator[Callable[[str, str], Client]]:
    server, port = build_api_server("127.0.0.1:0", max_workers=4)
    try:
        if not server.add_insecure_port(f"[::1]:{port}"):  # a second peer address on loopback
            raise RuntimeError("port 0")
    except RuntimeError:
        pytest.skip("this machine has no IPv6 loopback (::1) for a second peer address")
    clients: list[Client] = []

    def make(host: str, api_key: str) -> Client:
        # retry_wait=0: these tests read the server's own answers, not a patient client's
        config = ClientConfig(server=f"{host}:{port}", api_key=api_key, timeout=20, retry_wait=0)
        client = Client(config)
        clients.append(client)
        return client

    with serving((server, port), 0.5):
        yield make
    for client in clients:
        client.close()


def health(client: Client) -> int:
    target = client.config.server
    with grpc.insecure_channel(target) as channel:
        return int(
            health_pb2_grpc.HealthStub(channel)
            .Check(health_pb2.HealthCheckRequest(), timeout=10)
            .status
        )


def test_failed_keys_from_one_peer_are_limited_until_the_window_ends(
    dial: Callable[[str, str], Client], keys: Keys
) -> None:
    guesser = dial("127.0.0.1", "dojo_nope_wrongsecret")
    for _ in range(3):
        with pytest.raises(errors.UnauthenticatedError):
            guesser.list_jobs_page()
    with pytest.raises(errors.ResourceExhaustedError) as info:
        guesser.list_jobs_page()
    assert "failed API-key authentications from 127.0.0.1" in info.value.message
    assert info.value.retry_after is not None and 0 < info.value.retry_after <= 2.0
    # The same address is refused even with a valid key; another address is not.
    with pytest.raises(errors.ResourceExhaustedError):
        dial("127.0.0.1", keys.acme).list_jobs_page()
    assert dial("[::1]", keys.acme).list_jobs_page().jobs == []

    assert health(guesser) == health_pb2.HealthCheckResponse.SERVING  # never limited

    time.sleep(info.value.retry_after + 0.2)  # the window passes
    assert dial("127.0.0.1", keys.acme).list_jobs_page().jobs == []
    with pytest.raises(errors.UnauthenticatedError):  # counted afresh, from one
        guesser.list_jobs_page()


def test_create_job_rate_per_organization(dial: Callable[[str, str], Client], keys: Keys) -> None:
    acme, globex = dial("127.0.0.1", keys.acme), dial("127.0.0.1", keys.globex)
    acme.create_job(SPEC)
    acme.create_job(SPEC)
    with pytest.raises(errors.ResourceExhaustedError) as info:
        acme.create_job(SPEC)
    err = info.value
    assert err.retry_after is not None and 0 < err.retry_after <= 60
    [violation] = err.quota_violations
    assert violation.subject == "organizations/acme"
    assert "at most 2 jobs per minute" in violation.description
    assert "DOJO_CREATE_JOB_RATE" in violation.description
    assert globex.create_job(SPEC).name.startswith("organizations/globex/")  # its own count
    # A rejected spec is not counted against anyone, and is still named as bad.
    bad = specfile.parse_yaml("name: x\nmodel: {architecture: nope}\n")
    with pytest.raises(errors.InvalidArgumentError):
        globex.create_job(bad)
    globex.create_job(SPEC)


@pytest.mark.parametrize(
    ("peer", "address"),
    [
        ("ipv4:10.0.0.7:53211", "10.0.0.7"),
        ("ipv6:[::1]:5000", "::1"),
        ("ipv6:[::ffff:127.0.0.1]:5000", "127.0.0.1"),
        ("unix:/tmp/api.sock", "unix:/tmp/api.sock"),
    ],
)
def test_peer_address_drops_the_port(peer: str, address: str) -> None:
    assert peer_address(peer) == address
