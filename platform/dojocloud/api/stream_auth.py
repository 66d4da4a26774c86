"""Open streams decide their caller again every REAUTH_S seconds: a key revoked or expired,
or one whose creator left or lost the role, stops its streams within about that time.

Streams holding the same key share the decision: WatchJob streams `hold` their key, and one
task per key and action decides it again every REAUTH_S and hands a refusal to every stream
that holds it (so a thousand watchers on one key cost one query a second and wake only when
something happens); StreamJobLogs `decide`s before each poll, reusing a decision made less
than SHARE_S ago. Keys are kept by their SHA-256, never as they are.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Iterable
from typing import Any

from dojocloud.api.auth import api_key_from_metadata, authorize_metadata
from dojocloud.api.offload import in_stream_thread
from dojocloud.common.errors import DojoError
from dojocloud.tenancy.facade import Action, Principal

REAUTH_S = 1.0
SHARE_S = 0.5


class _Held:
    """The streams holding one key for one action, and the task that re-decides it."""

    def __init__(self) -> None:
        self.queues: set[asyncio.Queue[Any]] = set()
        self.task: asyncio.Task[None] | None = None


class Decisions:
    """Shared re-authorizations of one server's streams (used on its event loop only)."""

    def __init__(self, share_s: float = SHARE_S, every_s: float = REAUTH_S) -> None:
        self.share_s, self.every_s = share_s, every_s
        self._made: dict[tuple[str, Action], tuple[float, asyncio.Future[Principal]]] = {}
        self._held: dict[tuple[str, Action], _Held] = {}

    def hold(
        self, metadata: Iterable[tuple[str, Any]] | None, action: Action, queue: asyncio.Queue[Any]
    ) -> Callable[[], None]:
        """Puts the DojoError into `queue` once the caller's key no longer allows `action`
        (checked every `every_s`); returns the function that lets go of the key."""
        ident = (_digest(metadata), action)
        held = self._held.get(ident)
        if held is None:
            held = self._held[ident] = _Held()
            held.task = asyncio.create_task(self._recheck(ident, metadata, action, held))
        held.queues.add(queue)

        def release() -> None:
            held.queues.discard(queue)
            if not held.queues:
                if held.task is not None:
                    held.task.cancel()
                if self._held.get(ident) is held:
                    del self._held[ident]

        return release

    async def _recheck(
        self,
        ident: tuple[str, Action],
        metadata: Iterable[tuple[str, Any]] | None,
        action: Action,
        held: _Held,
    ) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await in_stream_thread(authorize_metadata, metadata, action)
            except DojoError as err:
                if self._held.get(ident) is held:
                    del self._held[ident]  # a stream opened from now on decides afresh
                for queue in held.queues:
                    queue.put_nowait(err)
                return

    async def decide(self, metadata: Iterable[tuple[str, Any]] | None, action: Action) -> Principal:
        """The caller's principal allowed `action`, decided at most SHARE_S ago; raises as
        `authorize` does."""
        digest = _digest(metadata)
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


def _digest(metadata: Iterable[tuple[str, Any]] | None) -> str:
    return hashlib.sha256(api_key_from_metadata(metadata).encode()).hexdigest()
