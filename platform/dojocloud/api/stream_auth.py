"""Open streams decide their caller again every REAUTH_S seconds: a key revoked or expired,
or one whose creator left or lost the role, stops its streams within about that time.

Streams holding the same key share one decision at a time (reused for SHARE_S), so a
thousand watchers on one key cost a query or two a second, not a thousand. Decisions are
kept by the key's SHA-256, never by the key itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterable
from typing import Any

from dojocloud.api.auth import api_key_from_metadata, authorize_metadata
from dojocloud.api.offload import in_stream_thread
from dojocloud.tenancy.facade import Action, Principal

REAUTH_S = 1.0
SHARE_S = 0.5


class Decisions:
    """Shared re-authorizations of one server's streams (used on its event loop only)."""

    def __init__(self, share_s: float = SHARE_S) -> None:
        self.share_s = share_s
        self._made: dict[tuple[str, Action], tuple[float, asyncio.Future[Principal]]] = {}

    async def decide(self, metadata: Iterable[tuple[str, Any]] | None, action: Action) -> Principal:
        """The caller's principal allowed `action`, decided at most SHARE_S ago; raises as
        `authorize` does."""
        digest = hashlib.sha256(api_key_from_metadata(metadata).encode()).hexdigest()
        now = time.monotonic()
        made = self._made.get((digest, action))
        if made is None or now - made[0] > self.share_s:
            self._prune(now)
            future: asyncio.Future[Principal] = asyncio.ensure_future(
                in_stream_thread(authorize_metadata, metadata, action)
            )
            self._made[(digest, action)] = (now, future)
        else:
            future = made[1]
        # shield: one watcher leaving must not cancel the decision the others wait for.
        return await asyncio.shield(future)

    def _prune(self, now: float) -> None:
        for ident, (at, future) in list(self._made.items()):
            if now - at > self.share_s and future.done():
                del self._made[ident]
