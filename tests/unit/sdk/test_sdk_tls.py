"""SDK and CLI transport security: TLS settings, the plain-text API key guard, and real TLS
handshakes against the fake JobService served on a TLS port with a CA made for the run."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest

import dojo.client
import dojo.retrying
from dojo import cli, errors
from dojo.client import Client
from dojo.config import ClientConfig, ConfigError, is_local
from dojo.operator import OperatorClient
from dojo.v1 import job_pb2_grpc
from tests.support.tls import PKI, make_pki
from tests.unit.sdk.conftest import API_KEY, FakeJobService

TLS_VARS = ("DOJO_TLS", "DOJO_TLS_CA", "DOJO_INSECURE")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return make_pki(tmp_path_factory.mktemp("pki"))


def serve_tls(cert: Path, key: Path) -> tuple[grpc.Server, FakeJobService, int]:
    service = FakeJobService()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    job_pb2_grpc.add_JobServiceServicer_to_server(service, server)
    creds = grpc.ssl_server_credentials([(key.read_bytes(), cert.read_bytes())])
    port = server.add_secure_port("127.0.0.1:0", creds)
    server.start()
    return server, service, port


@pytest.fixture
def tls_fake(pki: PKI) -> Iterator[tuple[FakeJobService, str]]:
    server, service, port = serve_tls(pki.cert, pki.key)
    try:
        yield service, f"127.0.0.1:{port}"
    finally:
        server.stop(0.5).wait(2)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Records the client's retry back-off instead of sleeping through it."""
    slept: list[float] = []
    monkeypatch.setattr(dojo.retrying.time, "sleep", slept.append)
    return slept


def config(server: str, **kw: object) -> ClientConfig:
    return ClientConfig(server=server, api_key=API_KEY, timeout=5, **kw)  # type: ignore[arg-type]


# --- configuration ------------------------------------------------------------------------


def test_env_turns_on_tls_and_a_ca_implies_it() -> None:
    assert ClientConfig.from_env({}).tls is False
    on = ClientConfig.from_env({"DOJO_TLS": "1"})
    assert (on.tls, on.tls_ca) == (True, "")
    with_ca = ClientConfig.from_env({"DOJO_TLS_CA": " /etc/dojo/ca.pem "})
    assert (with_ca.tls, with_ca.tls_ca) == (True, "/etc/dojo/ca.pem")
    assert ClientConfig.from_env({"DOJO_INSECURE": "yes"}).insecure is True
    assert ClientConfig.from_env({"DOJO_TLS": "1"}, tls=False).tls is False  # argument wins


@pytest.mark.parametrize(
    "address",
    [
        "grpcs://api.dojo.example:443",
        "https://api.dojo.example:443/",
        "GRPCS://api.dojo.example:443",
    ],
)
def test_a_tls_scheme_turns_on_tls_and_is_stripped(address: str) -> None:
    cfg = ClientConfig.from_env({"DOJO_SERVER": address})
    assert (cfg.server, cfg.tls) == ("api.dojo.example:443", True)


def test_the_scheme_belongs_to_the_server_that_wins() -> None:
    cfg = ClientConfig.from_env({"DOJO_SERVER": "grpcs://a.example:443"}, server="b.example:1")
    assert (cfg.server, cfg.tls) == ("b.example:1", False)


def test_plain_scheme_is_stripped_and_contradicting_tls_is_refused() -> None:
    assert ClientConfig(server="http://127.0.0.1:5").server == "127.0.0.1:5"
    with pytest.raises(ConfigError, match="DOJO_TLS"):
        ClientConfig.from_env({"DOJO_SERVER": "grpc://a.example:1", "DOJO_TLS": "1"})


@pytest.mark.parametrize("name", TLS_VARS[:1] + TLS_VARS[2:])
def test_bad_flag_names_the_variable(name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        ClientConfig.from_env({name: "maybe"})


def test_repr_keeps_the_api_key_out() -> None:
    assert API_KEY not in repr(config("127.0.0.1:1")) and "127.0.0.1:1" in repr(
        config("127.0.0.1:1")
    )


@pytest.mark.parametrize(
    "server, local",
    [
        ("127.0.0.1:50051", True),
        ("127.8.9.10:1", True),
        ("localhost:50051", True),
        ("[::1]:50051", True),
        ("dns:///localhost:50051", True),
        ("unix:/tmp/dojo.sock", True),
        ("ipv4:127.0.0.1:1,127.0.0.2:2", True),
        ("ipv4:127.0.0.1:1,10.0.0.2:2", False),
        ("10.0.0.5:50051", False),
        ("0.0.0.0:50051", False),
        ("api.dojo.example:443", False),
        ("localhost.evil.example:1", False),
        ("[2001:db8::1]:50051", False),
    ],
)
def test_is_local(server: str, local: bool) -> None:
    assert is_local(server) is local


# --- the plain-text guard -----------------------------------------------------------------


@pytest.mark.parametrize("cls", [Client, OperatorClient])
def test_api_key_in_plain_text_to_a_remote_host_is_refused(cls: type[Client]) -> None:
    with pytest.raises(errors.DojoError) as info:
        cls(config("api.dojo.example:50051"))
    assert isinstance(info.value, ConfigError)
    message = str(info.value)
    assert "api.dojo.example:50051" in message
    assert "DOJO_INSECURE=1" in message and "DOJO_TLS_CA" in message


@pytest.mark.parametrize(
    "cfg",
    [
        config("api.dojo.example:50051", insecure=True),  # explicitly allowed
        config("api.dojo.example:50051", tls=True),  # TLS: nothing to refuse
        ClientConfig(server="api.dojo.example:50051"),  # no key to leak
        config("localhost:50051"),  # loopback: make up, devstack
    ],
)
def test_the_guard_lets_these_through(cfg: ClientConfig) -> None:
    Client(cfg).close()  # no connection is made until a call


def test_the_guard_reads_dojo_insecure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOJO_SERVER", "10.1.2.3:50051")
    monkeypatch.setenv("DOJO_API_KEY", API_KEY)
    for name in TLS_VARS:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="DOJO_INSECURE"):
        Client.from_env()
    monkeypatch.setenv("DOJO_INSECURE", "1")
    Client.from_env().close()
    Client(insecure=False, tls=True).close()  # arguments lay over the environment


def test_cli_refuses_plain_text_to_a_remote_host(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOJO_API_KEY", API_KEY)
    for name in TLS_VARS:
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["--server", "10.1.2.3:50051", "jobs", "list"]) == cli.EXIT_BAD_INPUT
    assert "DOJO_INSECURE" in capsys.readouterr().err


# --- real handshakes ----------------------------------------------------------------------


def test_tls_client_with_the_ca_calls_through(
    tls_fake: tuple[FakeJobService, str], pki: PKI
) -> None:
    with Client(config(tls_fake[1]), tls_ca=pki.ca) as client:
        assert client.config.tls and client.config.tls_ca == str(pki.ca)
        assert list(client.list_jobs()) == []
    with Client(
        config(f"grpcs://localhost:{tls_fake[1].rsplit(':', 1)[1]}", tls_ca=str(pki.ca))
    ) as client:  # the name in the certificate
        assert list(client.list_jobs()) == []
    assert tls_fake[0].calls == ["ListJobs", "ListJobs"]  # the API key arrived (else abort)


def test_operator_client_takes_the_ca(tls_fake: tuple[FakeJobService, str], pki: PKI) -> None:
    # The fake serves JobService only: UNIMPLEMENTED proves the TLS handshake succeeded.
    with (
        OperatorClient(config(tls_fake[1]), tls_ca=pki.ca) as ops,
        pytest.raises(errors.DojoError) as info,
    ):
        ops.get_capacity()
    assert info.value.code == grpc.StatusCode.UNIMPLEMENTED


def test_tls_client_without_the_ca_fails_once_and_names_dojo_tls_ca(
    tls_fake: tuple[FakeJobService, str], sleeps: list[float]
) -> None:
    with (
        Client(config(tls_fake[1], tls=True)) as client,
        pytest.raises(errors.UnavailableError) as info,
    ):
        client.get_job("j1")
    assert "not signed by a CA the system trusts" in info.value.message
    assert "DOJO_TLS_CA" in info.value.message
    assert sleeps == []  # a certificate failure is not retried
    assert tls_fake[0].calls == []


def test_tls_client_with_another_ca_names_that_ca(
    tls_fake: tuple[FakeJobService, str], pki: PKI, sleeps: list[float]
) -> None:
    with (
        Client(config(tls_fake[1], tls_ca=str(pki.stranger_ca))) as client,
        pytest.raises(errors.UnavailableError, match=f"DOJO_TLS_CA={pki.stranger_ca}"),
    ):
        client.get_job("j1")
    assert sleeps == [] and tls_fake[0].calls == []


def test_certificate_for_another_host_is_refused(pki: PKI, sleeps: list[float]) -> None:
    server, service, port = serve_tls(pki.other_cert, pki.other_key)
    try:
        with (
            Client(config(f"127.0.0.1:{port}", tls_ca=str(pki.ca))) as client,
            pytest.raises(errors.UnavailableError, match="does not name the host"),
        ):
            client.get_job("j1")
    finally:
        server.stop(0.5).wait(2)
    assert service.calls == [] and sleeps == []


def test_plain_client_to_a_tls_server_fails_and_suggests_tls(
    tls_fake: tuple[FakeJobService, str], sleeps: list[float]
) -> None:
    with Client(config(tls_fake[1])) as client, pytest.raises(errors.UnavailableError) as info:
        client.get_job("j1")
    assert "DOJO_TLS=1" in info.value.message
    assert tls_fake[0].calls == []


def test_tls_client_to_a_plain_server_fails_with_a_handshake_hint(
    fake: tuple[FakeJobService, str], pki: PKI, sleeps: list[float]
) -> None:
    with (
        Client(config(fake[1], tls_ca=str(pki.ca))) as client,
        pytest.raises(errors.UnavailableError, match="is the server serving TLS"),
    ):
        client.get_job("j1")
    assert fake[0].calls == [] and sleeps == []


def test_watch_does_not_reconnect_after_a_certificate_failure(
    tls_fake: tuple[FakeJobService, str], pki: PKI, sleeps: list[float]
) -> None:
    with (
        Client(config(tls_fake[1], tls_ca=str(pki.stranger_ca))) as client,
        pytest.raises(errors.UnavailableError, match="DOJO_TLS_CA"),
    ):
        list(client.watch_job("j1"))
    assert sleeps == []


def test_unreadable_or_non_pem_ca_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DOJO_TLS_CA: cannot read"):
        Client(config("127.0.0.1:1", tls_ca=str(tmp_path / "missing.pem")))
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(ConfigError, match="holds no PEM certificate"):
        Client(config("127.0.0.1:1", tls_ca=str(junk)))


def test_cli_over_tls(
    tls_fake: tuple[FakeJobService, str],
    pki: PKI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DOJO_SERVER", tls_fake[1])
    monkeypatch.setenv("DOJO_API_KEY", API_KEY)
    monkeypatch.setenv("DOJO_TIMEOUT", "5")
    for name in TLS_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(dojo.retrying, "RETRY_BASE_DELAY", 0.001)
    assert cli.main(["jobs", "list", "--tls-ca", str(pki.ca)]) == cli.EXIT_OK
    monkeypatch.setenv("DOJO_TLS_CA", str(pki.ca))
    assert cli.main(["jobs", "list"]) == cli.EXIT_OK
    assert tls_fake[0].calls == ["ListJobs", "ListJobs"]
    monkeypatch.delenv("DOJO_TLS_CA")
    assert cli.main(["jobs", "list"]) == cli.EXIT_API_ERROR  # plain text to a TLS port
    assert "--tls" in capsys.readouterr().err
    monkeypatch.setenv("DOJO_TLS_CA", str(pki.ca) + ".missing")
    assert cli.main(["jobs", "list"]) == cli.EXIT_BAD_INPUT
    assert "DOJO_TLS_CA: cannot read" in capsys.readouterr().err
