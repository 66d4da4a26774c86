"""What one job process may use: its share of the host's cores and memory.

A pool's worker runs up to `slots` jobs at once (one per device of its pool, unless
DOJO_WORKER_SLOTS says otherwise). A job of d devices gets d/slots of the host:

* threads: max(1, cores x d // slots) torch intra-op threads (DOJO_TORCH_THREADS, when set,
  fixes the number instead), so six one-tile jobs on two cores take one thread each and
  never oversubscribe the cores (oversubscribed torch threads slow training ~10x);
* memory: the address space (RLIMIT_AS) of min(d x the device's memory from
  dojo_runtime/specs, DOJO_JOB_MEMORY_FRACTION x host memory x d / slots), and no more than
  DOJO_JOB_MEMORY_LIMIT_BYTES when that is set. The host's memory is the smaller of the
  physical memory and the cgroup's limit the worker runs under.

The device figure rarely binds on an emulating host (a tile has 109 GiB; torch on the CPU
needs roughly ten times the modelled device memory of a job: fp32 emulation buffers,
autograd's saved tensors, the allocator's slack, the runtime's own ~0.7 GiB of code and
libraries), so in practice the host's share is the limit: it is what keeps one job from
taking the memory of the others and of the worker.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

from dojo_runtime.specs import device_memory, load_hardware

GIB = float(2**30)
_slots = 0  # the worker's job slots, set at its start-up (JobSlots); 0: not a worker

_CGROUP_LIMITS = (
    Path("/sys/fs/cgroup/memory.max"),  # cgroup v2
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),  # cgroup v1
)


def set_worker_slots(slots: int) -> None:
    global _slots
    _slots = max(slots, 1)


def worker_slots() -> int:
    """How many jobs this worker runs at once: what its start-up decided, else
    DOJO_WORKER_SLOTS, else 1 (a process that runs segments itself, such as a test)."""
    return _slots or int(settings.WORKER_SLOTS) or 1


def slots_for_pools(pools: list[str], devices: dict[str, int]) -> int:
    """A worker serving these pools runs one job per device of them (at least one)."""
    return max(1, sum(devices.get(p, 0) for p in pools))


def host_memory_bytes() -> int:
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in _CGROUP_LIMITS:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < physical:
            return int(text)
    return int(physical)


def host_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def cuda_devices() -> int:
    """CUDA devices on this host (0 without CUDA). Asked in the worker, whose job processes
    come from a separate fork server, so no CUDA state is ever inherited across a fork."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def thread_share(*, devices: int, slots: int, cores: int, fixed: int = 0) -> int:
    if fixed > 0:
        return fixed
    return max(1, cores * max(devices, 1) // max(slots, 1))


def memory_limit(
    *,
    devices: int,
    device_bytes: float,
    host_bytes: int,
    slots: int,
    fraction: float,
    cap_bytes: int = 0,
) -> int:
    """Bytes of address space one job process may map (see the module docstring)."""
    devices = max(devices, 1)
    share = fraction * host_bytes * min(devices, slots) / max(slots, 1)
    limit = int(min(devices * device_bytes, share))
    return min(limit, cap_bytes) if cap_bytes > 0 else limit


def job_device_bytes(accelerator: str) -> float:
    return device_memory(load_hardware(), accelerator)[0]


def limits_for(accelerator: str, devices: int, slots: int) -> tuple[int, int]:
    """(threads, memory limit in bytes) for a job of `devices` devices of `accelerator` on a
    worker of `slots` slots, from the settings and this host."""
    threads = thread_share(
        devices=devices, slots=slots, cores=host_cores(), fixed=int(settings.TORCH_THREADS)
    )
    limit = memory_limit(
        devices=devices,
        device_bytes=job_device_bytes(accelerator),
        host_bytes=host_memory_bytes(),
        slots=slots,
        fraction=float(settings.JOB_MEMORY_FRACTION),
        cap_bytes=int(settings.JOB_MEMORY_LIMIT_BYTES or 0),
    )
    return threads, limit
