"""What a job's log lines say and what they never say. Pure: no Django, no I/O, so the job
process (which formats its errors) and the worker (which scrubs every line before it is
stored) share it.

A line is `2026-12-07T14:00:00.123Z LEVEL text`. Scrubbing replaces the server's folders
(the data dir, the repository, the Python installation and its site-packages, the home
folder) by short names, any other absolute path by its last two parts, and anything shaped
like a secret (API keys, AWS keys, bearer tokens, password=...) by `[redacted]`."""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
TRACEBACK_FRAMES = 4  # the last frames of an error's traceback that the log keeps
MAX_LINE_CHARS = 2000
# (pattern, replacement, cheap substrings of the lower-cased text that must occur first: a
# line without any of them skips the regex; most lines have none)
_SECRETS = [
    (re.compile(r"dojo_[0-9a-f]{8}_[A-Za-z0-9_\-]{16,}"), "[redacted]", ("dojo_",)),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "[redacted]", ("akia", "asia")),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._\-+/=]{8,}"), r"\1[redacted]", ("bearer",)),
    (
        re.compile(
            r"(?i)\b(password|passwd|secret|token|api[_-]?key|access[_-]?key|authorization)"
            r"(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|\S+)"
        ),
        r"\1\2[redacted]",  # keep the name: the line still says what was there
        ("passw", "secret", "token", "key", "authorization"),
    ),
    (
        re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^\s:/@]+:[^\s@/]+@"),
        r"\1[redacted]@",
        ("@",),
    ),
]
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/>])/(?:[\w.\-+@~]+/)+([\w.\-+@~]+)")


def scrub(text: str, roots: Sequence[tuple[str, str]]) -> str:
    """`text` without server paths or secrets. `roots`: (folder, what to show instead),
    longest first wins."""
    lower = text.lower()
    for pattern, replacement, hints in _SECRETS:
        if any(hint in lower for hint in hints):
            text = pattern.sub(replacement, text)
    for folder, shown in sorted(roots, key=lambda r: -len(r[0])):
        if folder and folder != "/":
            text = text.replace(folder.rstrip("/") + "/", shown + "/").replace(folder, shown)
    if "/" in text:
        text = _ABSOLUTE_PATH.sub(_short_path, text)
    return text[:MAX_LINE_CHARS]


def _short_path(match: re.Match[str]) -> str:
    parts = match.group(0).rstrip("/").split("/")
    return "…/" + "/".join(parts[-2:])


def format_line(at: float, level: str, text: str) -> str:
    """One log line (without its newline): UTC time to the millisecond, level, text on one
    line (newlines in `text` become separate indented lines' worth of ' | ')."""
    when = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    level = level if level in LEVELS else "INFO"
    return f"{when} {level} {' | '.join(text.splitlines()) or '-'}"


def error_lines(exc: BaseException, frames: int = TRACEBACK_FRAMES) -> list[str]:
    """An error as log text: its type and message, then its traceback's last frames as
    'at FILE:LINE in FUNCTION' (the file's own name only; scrubbing shortens the rest)."""
    lines = [f"{type(exc).__name__}: {exc}"]
    stack = traceback.extract_tb(exc.__traceback__)[-frames:]
    lines.extend(_frame(f.filename, f.lineno, f.name) for f in stack)
    return lines


def _frame(filename: str, lineno: int | None, name: str) -> str:
    short = "/".join(filename.replace("\\", "/").split("/")[-2:])
    return f"  at {short}:{lineno} in {name}"


def last_lines(lines: Iterable[str], count: int) -> list[str]:
    kept = list(lines)
    return kept[-count:] if count > 0 else []
