"""Execution's public entry: the only module of execution that other apps import.

What the scheduling loop needs to hand a placed job to the workers: a fresh dispatch token
and the send of a segment to its pool's queue."""

from dojocloud.execution.dispatch import RUN_SEGMENT_TASK, new_token, send_segment

__all__ = ["RUN_SEGMENT_TASK", "new_token", "send_segment"]
