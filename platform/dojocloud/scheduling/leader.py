"""Leader election for the scheduling loop: a PostgreSQL advisory lock held by the
scheduler thread's connection, or on SQLite a lease row renewed by conditional update."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from dojocloud.scheduling.models import SchedulerLease
from scheduler.loop import Leader

# "dojo" in ASCII; below 2**32 so pg_locks shows it in objid with classid 0.
ADVISORY_KEY = 0x646F6A6F
LEASE_NAME = "scheduler"


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class AdvisoryLockLeader:
    """Session-level lock: it lives exactly as long as this thread's database connection."""

    def __init__(self) -> None:
        self._held = False

    def acquire(self) -> bool:
        with connection.cursor() as cursor:
            if self._held:
                cursor.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND pid = pg_backend_pid() AND classid = 0 AND objid = %s",
                    [ADVISORY_KEY],
                )
                row = cursor.fetchone()
                self._held = bool(row and row[0])
            if not self._held:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_KEY])
                row = cursor.fetchone()
                self._held = bool(row and row[0])
        return self._held

    def release(self) -> None:
        if self._held:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_KEY])
            finally:
                self._held = False


class LeaseLeader:
    def __init__(self, ttl_s: float, holder: str | None = None) -> None:
        self.ttl = timedelta(seconds=ttl_s)
        self.holder = holder or holder_id()

    def acquire(self) -> bool:
        now = timezone.now()
        SchedulerLease.objects.get_or_create(name=LEASE_NAME)
        from django.db.models import Q

        won = (
            SchedulerLease.objects.filter(name=LEASE_NAME)
            .filter(Q(holder=self.holder) | Q(expires_at__lt=now) | Q(holder=""))
            .update(holder=self.holder, expires_at=now + self.ttl)
        )
        return bool(won)

    def release(self) -> None:
        SchedulerLease.objects.filter(name=LEASE_NAME, holder=self.holder).update(
            holder="", expires_at=timezone.now()
        )


def leader_for_database(ttl_s: float) -> Leader:
    if connection.vendor == "postgresql":
        return AdvisoryLockLeader()
    return LeaseLeader(ttl_s)
