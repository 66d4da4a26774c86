"""Scheduling's public entry: the only module of scheduling that other apps import.

The capacity and queue read models, operator actions, quotas, the inventory sync and the
live loop's start; the model classes the console's admin reads are re-exported as they are."""

from dojocloud.scheduling.capacity import sync_inventory
from dojocloud.scheduling.models import (
    Allocation,
    Device,
    DeviceKind,
    DeviceStatus,
    Preemption,
    SchedulerLease,
    TenantQuota,
    TenantUsage,
)
from dojocloud.scheduling.operator_actions import (
    OperationResult,
    drain,
    mark_failed,
    preempt_job,
    requeue_job,
    undrain,
)
from dojocloud.scheduling.queries import (
    DeviceRow,
    Holder,
    PoolRow,
    QueueRow,
    devices,
    pools,
    queue,
    queued_per_pool,
)
from dojocloud.scheduling.quotas import QuotaSpec, QuotaView, get_quota, list_quotas, set_quota
from dojocloud.scheduling.runner import start_scheduler
from dojocloud.scheduling.wake import wake

__all__ = [
    "wake",
    "Allocation",
    "Device",
    "DeviceKind",
    "DeviceRow",
    "DeviceStatus",
    "Holder",
    "OperationResult",
    "PoolRow",
    "Preemption",
    "QueueRow",
    "QuotaSpec",
    "QuotaView",
    "SchedulerLease",
    "TenantQuota",
    "TenantUsage",
    "devices",
    "drain",
    "get_quota",
    "list_quotas",
    "mark_failed",
    "pools",
    "preempt_job",
    "queue",
    "queued_per_pool",
    "requeue_job",
    "set_quota",
    "start_scheduler",
    "sync_inventory",
    "undrain",
]
