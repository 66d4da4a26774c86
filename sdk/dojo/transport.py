"""What both clients share about the connection: the channel's credentials (TLS verified
against the system roots or DOJO_TLS_CA, or plain text that `check_transport` allows), the
API key as call metadata, and the typed error for a failed call with a hint naming the
setting to fix when the transport failed."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any, Generic, Self, TypeVar

import grpc

from dojo.config import ClientConfig, ConfigError
from dojo.errors import DojoError, from_rpc_error, status_details

C = TypeVar("C")  # the channel: grpc.Channel or grpc.aio.Channel


class ClientBase(Generic[C]):
    """Config, channel, API key, deadlines and stubs: what dojo.service.ServiceClient and
    dojo.async_service.AsyncServiceClient share; each opens its kind of channel (`_open`)."""

    def __init__(
        self,
        config: ClientConfig | None = None,
        *,
        channel: C | None = None,
        tls: bool | None = None,
        tls_ca: str | os.PathLike[str] | None = None,
        insecure: bool | None = None,
    ) -> None:
        """`config` (default: the environment) with `tls`, `tls_ca` and `insecure` laid
        over it when given. With `channel`, the caller owns the transport and its security."""
        self.config = resolve_config(config, tls, tls_ca, insecure)
        self._own_channel = channel is None
        self._channel: C = self._open(self.config) if channel is None else channel
        self._metadata = auth_metadata(self.config)
        self._stubs: dict[type, Any] = {}

    @classmethod
    def from_env(cls, **overrides: object) -> Self:
        return cls(ClientConfig.from_env(None, **overrides))

    def _open(self, config: ClientConfig) -> C:
        raise NotImplementedError

    def _timeout(self, timeout: float | None) -> float:
        return self.config.timeout if timeout is None else timeout

    def _stub_of(self, service: type) -> Any:
        """The generated stub `service` on this client's channel, made once (the generated
        stubs take a sync channel and a grpc.aio one alike)."""
        if service not in self._stubs:
            self._stubs[service] = service(self._channel)
        return self._stubs[service]

    def _error(self, exc: grpc.RpcError) -> DojoError:
        return rpc_error(self.config, exc)


def credentials(config: ClientConfig) -> grpc.ChannelCredentials | None:
    """TLS credentials when the config asks for TLS, else None (plain text), after
    `check_transport` refused a plain-text channel carrying a key to a remote host."""
    if not config.tls:
        config.check_transport()
        return None
    roots = _read_ca(config.tls_ca) if config.tls_ca else None
    return grpc.ssl_channel_credentials(roots)


def auth_metadata(config: ClientConfig) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {config.api_key}"),) if config.api_key else ()


def rpc_error(config: ClientConfig, exc: grpc.RpcError) -> DojoError:
    """The typed error, with a hint naming the setting to fix when the transport failed."""
    err = from_rpc_error(exc)
    details = status_details(exc)
    unreachable = _unreachable(config, details)
    if err.code == grpc.StatusCode.UNAVAILABLE and unreachable:
        err.message = unreachable  # one line, not the transport's text
        err.args = (err.message,)
        return err
    hint = _transport_hint(config, details) if err.code == grpc.StatusCode.UNAVAILABLE else ""
    if hint:
        err.message = f"{err.message}\n  {hint}"
        err.args = (err.message,)
    return err


def tls_failure(exc: grpc.RpcError) -> bool:
    """A TLS handshake that failed on certificates or protocol, not on the network."""
    return _tls_failed(status_details(exc))


def _read_ca(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ConfigError(
            f"DOJO_TLS_CA: cannot read the CA bundle {path}: {exc.strerror or exc}"
        ) from None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise ConfigError(
            f"DOJO_TLS_CA: {path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        )
    return data


def _tls_failed(details: str) -> bool:
    return any(
        mark in details
        for mark in (
            "CERTIFICATE_VERIFY_FAILED",
            "Hostname Verification",
            "WRONG_VERSION_NUMBER",
            "andshake failed",
            "security handshaker",
        )
    )


# The transport's words for "nothing answered at that address", and how we say each.
_UNREACHABLE = (
    ("Connection refused", "connection refused"),
    ("DNS resolution failed", "its host name does not resolve"),
    ("No route to host", "no route to the host"),
    ("Network is unreachable", "the network is unreachable"),
    ("Timeout occurred", "the connection timed out"),
    ("Connection timed out", "the connection timed out"),
    ("failed to connect to all addresses", "nothing answered"),
)


def _unreachable(config: ClientConfig, details: str) -> str:
    """A one-line message for a server that could not be reached at all ("" otherwise)."""
    if _tls_failed(details) or "Socket closed" in details:  # reached, but TLS mismatched
        return ""
    why = next((ours for theirs, ours in _UNREACHABLE if theirs in details), "")
    if not why:
        return ""
    return (
        f"cannot reach the Dojo Cloud API at {config.server} ({why}); is it running, "
        "and is DOJO_SERVER (--server) right?"
    )


def _transport_hint(config: ClientConfig, details: str) -> str:
    if "CERTIFICATE_VERIFY_FAILED" in details:
        if config.tls_ca:
            return (
                f"TLS: the server's certificate is not signed by the CA bundle "
                f"DOJO_TLS_CA={config.tls_ca}"
            )
        return (
            "TLS: the server's certificate is not signed by a CA the system trusts; "
            "set DOJO_TLS_CA (--tls-ca) to the CA bundle that signed it"
        )
    if "Hostname Verification" in details:
        return (
            f"TLS: the server's certificate does not name the host of DOJO_SERVER ({config.server})"
        )
    if config.tls and _tls_failed(details):
        return (
            "TLS: the handshake failed; is the server serving TLS? For a plain-text "
            "server unset DOJO_TLS and DOJO_TLS_CA and use a host:port DOJO_SERVER"
        )
    if not config.tls and "Socket closed" in details:
        return "if the server requires TLS, set DOJO_TLS=1 (--tls) or DOJO_TLS_CA (--tls-ca)"
    return ""


def resolve_config(
    config: ClientConfig | None,
    tls: bool | None,
    tls_ca: str | os.PathLike[str] | None,
    insecure: bool | None,
) -> ClientConfig:
    """`config` (default: the environment) with `tls`, `tls_ca` and `insecure` laid over
    it when given."""
    given = {
        k: v for k, v in (("tls", tls), ("tls_ca", tls_ca), ("insecure", insecure)) if v is not None
    }
    if config is None:
        return ClientConfig.from_env(None, **given)
    return replace(config, **given) if given else config  # type: ignore[arg-type]
