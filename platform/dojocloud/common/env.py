"""Typed reads of the environment for settings: a bad value fails loudly at start-up.

Secrets may come from a file: `NAME_FILE` names a file whose stripped content is `NAME`.
Every helper records the variable it reads in `VARIABLES` (name, type, default as the
README writes them), so a test can hold the README's settings table to what the code reads.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, overload
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
N = TypeVar("N", int, float)  # a parsed number
D = TypeVar("D")  # its default (None allowed)


@dataclass(frozen=True)
class Variable:
    """One environment variable the settings read."""

    name: str
    kind: str  # the README's Type column: "string", "integer", "path", ...
    default: str  # the default as the README writes it; "" when there is none


VARIABLES: dict[str, Variable] = {}


def _record(name: str, kind: str, default: str) -> None:
    VARIABLES[name] = Variable(name, kind, default)


def _number(value: float | int | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(value)


def _raw(name: str) -> str | None:
    file_var = os.environ.get(f"{name}_FILE")
    if file_var:
        try:
            return Path(file_var).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_var!r} cannot be read: {exc}") from None
    return os.environ.get(name)


def env_str(name: str, default: str = "") -> str:
    _record(name, "string", default)
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool = False) -> bool:
    _record(name, "boolean", "true" if default else "false")
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def _bounded(name: str, parsed: float, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and parsed < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {parsed}")
    if maximum is not None and parsed > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}, got {parsed}")


@overload
def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int: ...
@overload
def env_int(
    name: str, default: None, *, minimum: int | None = None, maximum: int | None = None
) -> int | None: ...


def env_int(
    name: str, default: int | None, *, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    _record(name, "integer", _number(default))
    return _parsed(name, default, int, "an integer", minimum, maximum)


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    _record(name, "number", _number(default))
    return _parsed(name, default, float, "a number", minimum, None)


def _parsed(
    name: str,
    default: D,
    parse: Callable[[str], N],
    what: str,
    minimum: float | None,
    maximum: float | None,
) -> N | D:
    """The variable parsed and bounded; `default` when it is unset or blank."""
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    try:
        parsed = parse(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be {what}, got {value!r}") from None
    _bounded(name, parsed, minimum, maximum)
    return parsed


def env_list(name: str, default: list[str]) -> list[str]:
    _record(name, "list", ",".join(default))
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: Collection[str]) -> str:
    """One of `choices`, compared without case; returns the choice as `choices` spells it."""
    _record(name, "one of " + ", ".join(choices), default)
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    by_key = {choice.lower(): choice for choice in choices}
    try:
        return by_key[value.strip().lower()]
    except KeyError:
        raise ImproperlyConfigured(
            f"{name} must be one of {', '.join(choices)}, got {value!r}"
        ) from None


def env_url(name: str, default: str, *, schemes: Collection[str] | None = None) -> str:
    """A URL with a scheme (one of `schemes` when given); http(s) URLs must name a host."""
    _record(name, "URL", default)
    value = _raw(name)
    url = default if value is None or value.strip() == "" else value.strip()
    parts = urlsplit(url)
    wrong_scheme = not parts.scheme if schemes is None else parts.scheme not in schemes
    if wrong_scheme or (parts.scheme in ("http", "https") and not parts.netloc):
        raise ImproperlyConfigured(f"{name} must be a URL starting {_starts(schemes)}, got {url!r}")
    return url


def _starts(schemes: Collection[str] | None) -> str:
    if not schemes:
        return "scheme://"
    prefixes = [f"{scheme}://" for scheme in schemes]
    return " or ".join([", ".join(prefixes[:-1]), prefixes[-1]] if len(prefixes) > 1 else prefixes)


def env_path(name: str, default: Path, *, base: Path) -> Path:
    """A path; relative values are taken relative to `base` (the repository)."""
    _record(name, "path", default.as_posix())
    value = _raw(name)
    path = Path(value) if value else default
    return path if path.is_absolute() else (base / path)


def env_optional_path(name: str, *, base: Path) -> Path | None:
    """A path, or None when the variable is unset or blank; relative to `base` like env_path."""
    _record(name, "path", "")
    value = _raw(name)
    if value is None or not value.strip():
        return None
    path = Path(value)
    return path if path.is_absolute() else (base / path)
