"""Client configuration: explicit values, or the environment.

    DOJO_SERVER     host:port of the API; a grpcs:// or https:// prefix turns on TLS
    DOJO_API_KEY    the API key
    DOJO_TIMEOUT    seconds, the deadline of each unary call
    DOJO_RETRY_WAIT seconds a call may spend in all waiting to try again (default 30; 0: never
                    wait: a busy or unreachable server's answer is raised at once)
    DOJO_TLS        1: TLS, verified against the system's root certificates
    DOJO_TLS_CA     a PEM CA bundle to verify the server against instead (implies TLS)
    DOJO_INSECURE   1: allow sending the API key without TLS to a host that is not loopback

Without TLS the client sends the API key only to a loopback address (127.0.0.1, ::1,
localhost), as the embedded `make up` stack does, unless DOJO_INSECURE allows it.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from dojo.errors import DojoError

DEFAULT_SERVER = "127.0.0.1:50051"
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRY_WAIT = 30.0

_TLS_SCHEMES = ("grpcs://", "https://")
_PLAIN_SCHEMES = ("grpc://", "http://")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(DojoError, ValueError):
    """A configuration value that cannot be used; says which variable and why."""


@dataclass(frozen=True)
class ClientConfig:
    server: str = DEFAULT_SERVER  # host:port of the Dojo Cloud gRPC API
    api_key: str = field(default="", repr=False)  # a secret: kept out of repr and logs
    timeout: float = DEFAULT_TIMEOUT  # seconds: the deadline of each unary call
    tls: bool = False  # TLS with the system roots (or tls_ca)
    tls_ca: str = ""  # PEM CA bundle to verify the server; implies TLS
    insecure: bool = False  # allow the API key in plain text to a remote host
    retry_wait: float = DEFAULT_RETRY_WAIT  # seconds a call may wait in all to try again

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> ClientConfig:
        """Reads the environment; keyword overrides that are not None win over it."""
        env = os.environ if env is None else env
        values: dict[str, object] = {
            "server": env.get("DOJO_SERVER", "").strip() or DEFAULT_SERVER,
            "api_key": env.get("DOJO_API_KEY", "").strip(),
            "timeout": _timeout(env.get("DOJO_TIMEOUT", "")),
            "tls": _flag("DOJO_TLS", env.get("DOJO_TLS", "")),
            "tls_ca": env.get("DOJO_TLS_CA", "").strip(),
            "insecure": _flag("DOJO_INSECURE", env.get("DOJO_INSECURE", "")),
            "retry_wait": _seconds(
                "DOJO_RETRY_WAIT", env.get("DOJO_RETRY_WAIT", ""), DEFAULT_RETRY_WAIT, zero=True
            ),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise ConfigError(f"timeout must be positive, got {self.timeout}")
        if self.retry_wait < 0:
            raise ConfigError(f"retry_wait must be zero or more, got {self.retry_wait}")
        server = self.server.strip()
        tls_ca = os.fspath(self.tls_ca).strip()
        tls = bool(self.tls) or bool(tls_ca)
        lowered = server.lower()
        if lowered.startswith(_TLS_SCHEMES):
            server, tls = server.split("://", 1)[1], True
        elif lowered.startswith(_PLAIN_SCHEMES):
            if tls:
                raise ConfigError(
                    f"server {self.server!r} asks for plain text but DOJO_TLS or DOJO_TLS_CA "
                    "asks for TLS: use a grpcs:// address or drop the TLS setting"
                )
            server = server.split("://", 1)[1]
        server = server.rstrip("/")
        if not server:
            raise ConfigError("server must be host:port, got an empty string")
        # Frozen: normalize through object.__setattr__ (a scheme prefix, a CA, a Path).
        object.__setattr__(self, "server", server)
        object.__setattr__(self, "tls_ca", tls_ca)
        object.__setattr__(self, "tls", tls)
        object.__setattr__(self, "insecure", bool(self.insecure))

    def check_transport(self) -> None:
        """Refuses to send an API key in plain text anywhere but to this machine.

        Raises ConfigError naming the settings that fix it; no-op with TLS, without an API
        key, for loopback or Unix-socket servers, and when `insecure` allows it.
        """
        if self.tls or not self.api_key or self.insecure or is_local(self.server):
            return
        raise ConfigError(
            f"refusing to send DOJO_API_KEY in plain text to {self.server}: that host is not "
            "loopback. Use TLS (DOJO_TLS=1, DOJO_TLS_CA=<ca.pem> or a grpcs:// DOJO_SERVER; "
            "--tls / --tls-ca on the CLI) or, on a network you trust, allow plain text with "
            "DOJO_INSECURE=1 (--insecure)"
        )


def is_local(server: str) -> bool:
    """True when `server` (a gRPC target) is a Unix socket or a loopback address."""
    if server.startswith(("unix:", "unix-abstract:")):
        return True
    for prefix in ("ipv4:", "ipv6:"):  # a list of addresses: every one must be loopback
        if server.startswith(prefix):
            return all(_is_loopback(_host(one)) for one in server[len(prefix) :].split(","))
    return _is_loopback(_host(server))


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host(target: str) -> str:
    """The host of host:port, [v6]:port or dns:[//authority/]host:port."""
    for prefix in ("dns:///", "dns:"):
        if target.startswith(prefix):
            target = target[len(prefix) :]
            break
    if "/" in target:  # dns://authority/host:port
        target = target.rsplit("/", 1)[1]
    if target.startswith("["):
        return target[1:].split("]", 1)[0]
    if target.count(":") == 1:
        return target.split(":", 1)[0]
    return target  # no port, or a bare IPv6 address


def _flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be 1 or 0 (true/false, yes/no, on/off), got {raw!r}")


def _timeout(raw: str) -> float:
    return _seconds("DOJO_TIMEOUT", raw, DEFAULT_TIMEOUT)


def _seconds(name: str, raw: str, default: float, *, zero: bool = False) -> float:
    if not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value < 0 or (value == 0 and not zero):
        raise ConfigError(f"{name} must be {'zero or more' if zero else 'positive'}, got {raw!r}")
    return value
