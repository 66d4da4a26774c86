"""What every phase of the walk shares (scheduler.core.walk): the pass's state, queue and
policy, whether it explains, and the two hooks by which a phase tells the driver that a
pool changed.

The phases are mixins of one walk object, not objects of their own: a pass of the simulator
may decide a single job, and building three more objects (and collecting them) per pass
cost it measurably (10-18% of the pass time of a Philly replay slice).
"""

from __future__ import annotations

from scheduler.core.bounds import Left
from scheduler.core.policies.base import Policy
from scheduler.core.queue import JobQueue
from scheduler.core.state import PassState


class Phase:
    state: PassState
    queue: JobQueue
    policy: Policy
    explain: bool
    left: Left | None  # early-stop bounds; None when the pass explains

    def changed(self, pool: str) -> None:
        """A pool's free devices, quota use, reservation or victims changed."""
        raise NotImplementedError

    def refresh_bounds(self) -> None:
        """Recompute the early-stop bounds (a pass that explains has none)."""
        raise NotImplementedError
