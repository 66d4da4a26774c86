"""When and how long the client waits before trying a call again.

A call is tried again only when the server's answer says waiting helps:

* UNAVAILABLE (the server or the network is down for a moment): exponential backoff from
  RETRY_BASE_DELAY, at most RETRY_MAX_DELAY a wait — but never a failed TLS handshake, which
  no retry fixes;
* RESOURCE_EXHAUSTED or ABORTED **with RetryInfo** (a rate limit, a full stream cap): the
  server's delay. The same status without RetryInfo (a storage quota, a budget) is final:
  waiting does not free a quota.

Every wait is jittered (0.5–1× a backoff, 1–1.25× a server's delay) so that clients turned
away together do not come back together, and a call waits at most its budget in all
(`ClientConfig.retry_wait`, DOJO_RETRY_WAIT): a delay that would pass the budget is not
waited for; the error is raised at once with `retry_after` set for the caller to decide.
"""

from __future__ import annotations

import random

import grpc

from dojo.errors import from_rpc_error

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
    code = exc.code() if isinstance(exc, grpc.Call) else None
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
