"""Persisted capacity: syncing devices from the inventory, holding and releasing them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from dojocloud.scheduling.models import Allocation, Device, DeviceKind
from scheduler.core import DOJO_ACCELERATOR, Capacity

_TILE_FIELDS = ("exapod", "cabinet", "tray", "row", "col")


def sync_inventory(capacity: Capacity) -> int:
    """Makes the Device table match the inventory. Devices that left the inventory are kept
    (their history references them) but marked out of it. Returns devices in inventory."""
    rows: dict[str, dict[str, object]] = {}
    for t in capacity.tiles:
        rows[t.id] = {
            "kind": DeviceKind.TILE,
            "pool": t.pool,
            "accelerator": DOJO_ACCELERATOR,
            **{f: getattr(t, f) for f in _TILE_FIELDS},
        }
    for n in capacity.gpu_nodes:
        for i in range(n.gpus):
            rows[n.gpu_id(i)] = {
                "kind": DeviceKind.GPU,
                "pool": n.pool,
                "accelerator": n.pool,
                "node": n.name,
                "rack": n.rack,
                "index": i,
                "gpus_on_node": n.gpus,
            }
    with transaction.atomic():
        existing = set(Device.objects.values_list("id", flat=True))
        Device.objects.bulk_create(
            [
                Device(id=dev_id, **fields)
                for dev_id, fields in rows.items()
                if dev_id not in existing
            ]
        )
        Device.objects.filter(id__in=list(rows)).exclude(in_inventory=True).update(
            in_inventory=True
        )
        Device.objects.exclude(id__in=list(rows)).update(in_inventory=False)
        _move_racks(capacity)
    return len(rows)


def _move_racks(capacity: Capacity) -> None:
    """GPUs already stored take their node's rack from the inventory (one query per rack)."""
    racks: dict[str, list[str]] = {}
    for n in capacity.gpu_nodes:
        racks.setdefault(n.rack, []).extend(n.gpu_id(i) for i in range(n.gpus))
    for rack, ids in racks.items():
        Device.objects.filter(id__in=ids).exclude(rack=rack).update(rack=rack)


def hold(job_id: str, attempt: int, device_ids: Sequence[str], now: datetime | None = None) -> bool:
    """Allocates the devices to the job, all or none. False when any is taken or unknown."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            known = Device.objects.filter(id__in=list(device_ids), in_inventory=True).count()
            if known != len(set(device_ids)) or known != len(device_ids):
                raise IntegrityError("unknown or repeated device")
            Allocation.objects.bulk_create(
                [
                    Allocation(device_id=d, job_id=job_id, attempt=attempt, created_at=now)
                    for d in device_ids
                ]
            )
    except IntegrityError:
        return False
    return True


def release(job_id: str, now: datetime | None = None) -> int:
    return Allocation.objects.filter(job_id=job_id, released_at__isnull=True).update(
        released_at=now or timezone.now()
    )


def active_devices(job_id: str) -> list[str]:
    return sorted(
        Allocation.objects.filter(job_id=job_id, released_at__isnull=True).values_list(
            "device_id", flat=True
        )
    )
