"""When and how long the client waits before trying a call again.

A call is tried again only when the server's answer says waiting helps:

* UNAVAILABLE (the server or the network is down for a moment): exponential backoff from
  RETRY_BASE_DELAY, at most RETRY_MAX_DELAY a wait — but never a failed TLS handshake, which
  no retry fixes;
* RESOURCE_EXHAUSTED or ABORTED **with RetryInfo** (a rate limit, a server turning calls away): the
  server's delay. The same status without RetryInfo (a storage quota, a budget) is final:
  waiting does not free a quota.

Every wait is jittered (0.5–1× a backoff, 1–1.25× a server's delay) so that clients turned
away together do not come back together, and a call waits at most its budget in all
(`ClientConfig.retry_wait`, DOJO_RETRY_WAIT): a delay that would pass the budget is not
waited for; the error is raised at once with `retry_after` set for the caller to decide.

`retrying` (dojo.Client) and `retrying_async` (dojo.AsyncClient, waiting with asyncio.sleep)
run the same loop over the same `Retries` decisions.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc

from dojo.errors import from_rpc_error, status_code
from dojo.transport import tls_failure

T = TypeVar("T")

RETRY_ATTEMPTS = 5  # tries of one unary call, the first included
RETRY_BASE_DELAY = 0.2  # seconds; doubles per attempt
RETRY_MAX_DELAY = 2.0
_WAITS_ON_RETRY_INFO = frozenset({grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.ABORTED})


def backoff(attempt: int) -> float:
    """The un-jittered exponential backoff before try `attempt + 1`."""
    return min(RETRY_MAX_DELAY, RETRY_BASE_DELAY * (2.0**attempt))


def retry_delay(exc: grpc.RpcError, attempt: int, *, tls_failure: bool = False) -> float | None:
    """Seconds to wait before trying again after `exc` (the `attempt`-th failure, from 0), or
    None when the answer is final."""
    code = status_code(exc)
    if code == grpc.StatusCode.UNAVAILABLE:
        return None if tls_failure else backoff(attempt) * random.uniform(0.5, 1.0)
    if code in _WAITS_ON_RETRY_INFO:
        after = from_rpc_error(exc).retry_after
        if after is None:
            return None
        return max(after, backoff(attempt)) * random.uniform(1.0, 1.25)
    return None


class Budget:
    """What is left of the time a call may spend waiting to be tried again."""

    def __init__(self, seconds: float) -> None:
        self.left = seconds

    def allows(self, delay: float) -> bool:
        return delay < self.left

    def spend(self, delay: float) -> None:
        self.left -= delay


class Retries:
    """The decisions of one idempotent unary call: how long to wait after each failure, or
    None when it is final (the answer says waiting does not help, the tries or the budget
    are spent)."""

    def __init__(self, retry_wait: float) -> None:
        self.budget = Budget(retry_wait)

    def delay(self, exc: grpc.RpcError, attempt: int) -> float | None:
        delay = retry_delay(exc, attempt, tls_failure=tls_failure(exc))
        if delay is None or attempt == RETRY_ATTEMPTS - 1 or not self.budget.allows(delay):
            return None
        self.budget.spend(delay)
        return delay


def retrying(
    call: Callable[[], T], retry_wait: float, error: Callable[[grpc.RpcError], Exception]
) -> T:
    """Runs an idempotent call, trying again while `Retries` says so; `error` maps the
    final failure."""
    retries = Retries(retry_wait)
    for attempt in range(RETRY_ATTEMPTS):
        try:
            return call()
        except grpc.RpcError as exc:
            delay = retries.delay(exc, attempt)
            if delay is None:
                raise error(exc) from None
            time.sleep(delay)
    raise AssertionError("unreachable")


async def retrying_async(
    call: Callable[[], Awaitable[T]],
    retry_wait: float,
    error: Callable[[grpc.RpcError], Exception],
) -> T:
    """`retrying` for a coroutine: the same decisions, waiting without blocking the loop."""
    retries = Retries(retry_wait)
    for attempt in range(RETRY_ATTEMPTS):
        try:
            return await call()
        except grpc.RpcError as exc:
            delay = retries.delay(exc, attempt)
            if delay is None:
                raise error(exc) from None
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")
