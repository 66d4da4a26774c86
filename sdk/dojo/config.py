"""Client configuration: explicit values, or the environment (DOJO_SERVER, DOJO_API_KEY,
DOJO_TIMEOUT)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace

DEFAULT_SERVER = "127.0.0.1:50051"
DEFAULT_TIMEOUT = 30.0


class ConfigError(ValueError):
    """A configuration value that cannot be used; says which variable and why."""


@dataclass(frozen=True)
class ClientConfig:
    server: str = DEFAULT_SERVER        # host:port of the Dojo Cloud gRPC API
    api_key: str = ""
    timeout: float = DEFAULT_TIMEOUT    # seconds: the deadline of each unary call

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> ClientConfig:
        """Reads the environment; keyword overrides that are not None win over it."""
        env = os.environ if env is None else env
        config = cls(
            server=env.get("DOJO_SERVER", "").strip() or DEFAULT_SERVER,
            api_key=env.get("DOJO_API_KEY", "").strip(),
            timeout=_timeout(env.get("DOJO_TIMEOUT", "")),
        )
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(config, **given)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise ConfigError(f"timeout must be positive, got {self.timeout}")
        if not self.server:
            raise ConfigError("server must be host:port, got an empty string")


def _timeout(raw: str) -> float:
    if not raw.strip():
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"DOJO_TIMEOUT must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"DOJO_TIMEOUT must be positive, got {raw!r}")
    return value
