"""Stop flags a running segment polls between steps: cheap Redis reads. The database holds
the same intent (job state, preempt_requested), checked at each heartbeat, so a lost flag
only delays the stop."""

from __future__ import annotations

import logging

import redis

from dojocloud.common.redis import redis_client

log = logging.getLogger(__name__)
STOP_CANCEL = "cancel"
STOP_PREEMPT = "preempt"
_TTL_S = 24 * 3600


def _key(job_id: str) -> str:
    return f"dojo:job:{job_id}:stop"


def request_stop(job_id: str, why: str) -> None:
    try:
        redis_client().set(_key(job_id), why, ex=_TTL_S)
    except redis.RedisError as exc:
        log.warning(
            "stop flag for %s not set (%s); the worker sees it at its heartbeat", job_id, exc
        )


def stop_requested(job_id: str) -> str | None:
    try:
        value = redis_client().get(_key(job_id))
    except redis.RedisError:
        return None
    return value.decode() if isinstance(value, bytes) else None


def clear_stop(job_id: str) -> None:
    try:
        redis_client().delete(_key(job_id))
    except redis.RedisError as exc:
        log.warning("stop flag for %s not cleared: %s", job_id, exc)
