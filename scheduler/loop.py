"""The live scheduling loop: snapshot → core policy → apply decisions, on the leader only.

No Django here: the platform supplies a Store (its database adapter), a leader election, a
wake signal and a clock, so the loop is testable with plain fakes and the same core that the
simulator runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from scheduler.core import Decisions, Snapshot

log = logging.getLogger(__name__)

Policy = Callable[[Snapshot], Decisions]


@dataclass(frozen=True)
class Applied:
    admitted: int = 0
    preempted: int = 0
    pending: int = 0


class Store(Protocol):
    def snapshot(self, now: float) -> Snapshot:
        """Capacity, queue, running jobs and tenants as of `now`."""

    def apply(self, decisions: Decisions, now: float) -> Applied:
        """Persist the decisions (placements, preemptions, pending reasons) and dispatch."""

    def recover(self, now: float) -> int:
        """Re-dispatch work whose worker went silent; returns how many jobs."""


class Leader(Protocol):
    def acquire(self) -> bool:
        """True while this process is the leader (idempotent, renews any lease)."""

    def release(self) -> None: ...


class WakeSignal(Protocol):
    def wait(self, timeout: float) -> bool:
        """Block up to `timeout` seconds; True when woken early."""


@dataclass(frozen=True)
class PassResult:
    leader: bool
    admitted: int = 0
    preempted: int = 0
    pending: int = 0
    redispatched: int = 0
    seconds: float = 0.0


class SchedulingLoop:
    def __init__(
        self,
        store: Store,
        policy: Policy,
        *,
        leader: Leader,
        wake: WakeSignal,
        clock: Callable[[], float] = time.time,
        interval_s: float = 5.0,
        on_pass: Callable[[PassResult, Snapshot | None], None] | None = None,
    ) -> None:
        self.store = store
        self.policy = policy
        self.leader = leader
        self.wake = wake
        self.clock = clock
        self.interval_s = interval_s
        self.on_pass = on_pass

    def run_once(self) -> PassResult:
        if not self.leader.acquire():
            return PassResult(leader=False)
        started = time.perf_counter()
        now = self.clock()
        redispatched = self.store.recover(now)
        snapshot = self.store.snapshot(now)
        applied = self.store.apply(self.policy(snapshot), now)
        result = PassResult(
            True,
            applied.admitted,
            applied.preempted,
            applied.pending,
            redispatched,
            time.perf_counter() - started,
        )
        if self.on_pass is not None:
            self.on_pass(result, snapshot)
        return result

    def run(self, stop: threading.Event) -> None:
        """Passes until `stop` is set: after each wake-up and at least every interval."""
        try:
            while not stop.is_set():
                try:
                    result = self.run_once()
                    if result.admitted or result.preempted or result.redispatched:
                        log.info("scheduling pass: %s", result)
                except Exception:  # one bad pass must not end scheduling for good
                    log.exception("scheduling pass failed")
                    stop.wait(min(self.interval_s, 1.0))
                if stop.is_set():
                    break
                self.wake.wait(self.interval_s)
        finally:
            self.leader.release()
