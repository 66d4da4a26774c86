"""Verifying the webhooks Dojo Cloud sends (and the signing the platform itself uses).

Every delivery carries

    Dojo-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>

where `secret` is the endpoint's secret as shown once when it was added (`whsec_...`, its
UTF-8 bytes are the key) and `body` the raw request body, byte for byte. A receiver checks
it before it parses anything:

    from dojo.webhooks import verify, SignatureError

    try:
        event = verify(request_body, request.headers["Dojo-Signature"], secret)
    except SignatureError:
        return 400

`verify` compares in constant time, accepts any of several `v1=` values (a header may carry
one per secret while secrets are rotated) and refuses a timestamp further than `tolerance_s`
from now, so a captured delivery cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

HEADER = "Dojo-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE_S = 300


class SignatureError(ValueError):
    """The delivery is not signed with the secret, is malformed, or is too old."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `f"{timestamp}.{body}"` under `secret`."""
    message = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The `Dojo-Signature` header's value for `body` sent at `timestamp`."""
    return f"t={int(timestamp)},{SCHEME}={signature(secret, timestamp, body)}"


def parse_header(header: str) -> tuple[int, list[str]]:
    """(timestamp, the v1 signatures) of a header; SignatureError when malformed."""
    timestamp: int | None = None
    found: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureError(f"malformed {HEADER} header: {header[:100]!r}")
        if key == "t":
            if not value.isdigit():
                raise SignatureError(f"{HEADER}: the timestamp is not a number")
            timestamp = int(value)
        elif key == SCHEME:
            found.append(value)
    if timestamp is None or not found:
        raise SignatureError(f"{HEADER} needs t= and {SCHEME}=: {header[:100]!r}")
    return timestamp, found


def verify(
    body: bytes | str,
    header: str,
    secret: str,
    *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> dict[str, Any]:
    """The event (the parsed JSON body) if `header` signs `body` with `secret` within
    `tolerance_s` of `now`; SignatureError otherwise. `tolerance_s` 0 skips the age check."""
    raw = body.encode() if isinstance(body, str) else bytes(body)
    timestamp, given = parse_header(header)
    expected = signature(secret, timestamp, raw)
    if not any(hmac.compare_digest(expected, g) for g in given):
        raise SignatureError("no signature matches: wrong secret, or the body was changed")
    at = time.time() if now is None else now
    if tolerance_s and abs(at - timestamp) > tolerance_s:
        raise SignatureError(f"the timestamp is {abs(at - timestamp):.0f} s off: a replay?")
    event: dict[str, Any] = json.loads(raw)
    return event
