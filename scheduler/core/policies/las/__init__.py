"""`las`: Tiresias-style least attained service; jobs that cannot start are skipped."""

from scheduler.core.policies.base import Policy
from scheduler.core.policies.las.order import sort_key

POLICY = Policy(
    name="las",
    sort_key=sort_key,
    description="least attained service first (discretised queues), greedy skip-ahead",
)
