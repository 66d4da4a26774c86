"""The one price book: per pool, USD per device-second (Decimal), on demand and preemptible,
each entry in force from its `effective_from` until the pool's next entry.

The ledger rates every usage row with the entry in force when the segment ended; the
estimator and the scheduler's option choice get the same rates through `accelerator_prices`
(the runtime stays pure and float: the platform hands it USD per device-hour, converted at
this edge as float(rate x 3600), the nearest double; money itself never becomes a float).
Seeded from DOJO_PRICES_FILE (deploy/prices.yaml); changed by operators, audited.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from dojocloud.audit.facade import Actor, AuditAction, record
from dojocloud.billing.models import Hardware, PriceEntry
from dojocloud.billing.money import MoneyError, parse_rate, per_hour
from dojocloud.common.errors import FailedPrecondition, FieldViolation, InvalidArgument
from dojocloud.common.inventory import inventory

AUTO = "auto"
SEED_ACTOR = "seed:deploy/prices.yaml"


@dataclass(frozen=True)
class PriceSpec:
    pool: str
    on_demand_rate: Decimal
    preemptible_rate: Decimal
    hardware: str
    effective_from: datetime


@functools.cache
def cuda_present() -> bool:
    """Whether this host has CUDA (GPU pools then bill real, allocated time)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return bool(torch.cuda.is_available())


def resolve_hardware(pool: str, hardware: str) -> str:
    if hardware == AUTO:
        return Hardware.REAL if pool.startswith("gpu-") and cuda_present() else Hardware.EMULATED
    return hardware


def parse_seed(data: Any, where: str = "prices") -> list[PriceSpec]:
    """The seed file's entries; ValueError naming the field of a bad one."""
    if not isinstance(data, Mapping) or not isinstance(data.get("pools"), Mapping):
        raise ValueError(f"{where}: must be a mapping with `pools`")
    start = _parse_time(str(data.get("effective_from", "2000-01-01T00:00:00Z")), where)
    out = []
    for pool, entry in data["pools"].items():
        field = f"{where}.pools.{pool}"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{field}: must be a mapping")
        hardware = str(entry.get("hardware", AUTO))
        if hardware not in (*Hardware.values, AUTO):
            raise ValueError(f"{field}.hardware: emulated, real or auto, got {hardware!r}")
        try:
            spec = PriceSpec(
                str(pool),
                parse_rate(str(entry.get("on_demand", "")), f"{field}.on_demand"),
                parse_rate(str(entry.get("preemptible", "")), f"{field}.preemptible"),
                resolve_hardware(str(pool), hardware),
                start,
            )
        except MoneyError as exc:
            raise ValueError(str(exc)) from None
        out.append(spec)
    return out


def load_seed(path: Path | None = None) -> list[PriceSpec]:
    path = Path(path or settings.PRICES_FILE)
    with open(path, encoding="utf-8") as fh:
        return parse_seed(yaml.safe_load(fh), str(path))


def seed_prices(path: Path | None = None) -> list[str]:
    """Adds the seed's entry for every pool that has none; the pools it added."""
    added = []
    with transaction.atomic():
        known = set(PriceEntry.objects.values_list("pool", flat=True))
        for spec in load_seed(path):
            if spec.pool not in known:
                _create(spec, SEED_ACTOR, "seeded")
                added.append(spec.pool)
    return added


def _create(spec: PriceSpec, actor: str, reason: str) -> PriceEntry:
    return PriceEntry.objects.create(
        pool=spec.pool,
        effective_from=spec.effective_from,
        on_demand_rate=spec.on_demand_rate,
        preemptible_rate=spec.preemptible_rate,
        hardware=spec.hardware,
        set_by=actor[:200],
        reason=reason[:500],
    )


def price_at(pool: str, at: datetime) -> PriceEntry | None:
    """The pool's entry in force at `at` (None: the pool has no price yet)."""
    return (
        PriceEntry.objects.filter(pool=pool, effective_from__lte=at)
        .order_by("-effective_from")
        .first()
    )


def current_prices(at: datetime | None = None) -> list[PriceEntry]:
    """Each pool's entry in force now (or at `at`), by pool."""
    at = at or timezone.now()
    starts = (
        PriceEntry.objects.filter(effective_from__lte=at)
        .values("pool")
        .annotate(start=Max("effective_from"))
    )
    wanted = {(s["pool"], s["start"]) for s in starts}
    rows = PriceEntry.objects.filter(pool__in={p for p, _ in wanted}).order_by("pool")
    return [r for r in rows if (r.pool, r.effective_from) in wanted]


def price_history(pool: str = "") -> list[PriceEntry]:
    query = PriceEntry.objects.all()
    return list(query.filter(pool=pool) if pool else query)


def set_price(
    spec: PriceSpec, *, actor: Actor, reason: str, now: datetime | None = None
) -> PriceEntry:
    """A new entry for `spec.pool`, in force from `spec.effective_from` (not in the past: rows
    already rated keep their rates, and a back-dated price would disagree with them)."""
    now = now or timezone.now()
    violations = []
    if not spec.pool.strip():
        violations.append(FieldViolation("price.pool", "is required"))
    elif spec.pool not in known_pools():
        violations.append(
            FieldViolation("price.pool", f"unknown pool {spec.pool!r}: {', '.join(known_pools())}")
        )
    rates = {}
    for name in ("on_demand_rate", "preemptible_rate"):
        try:
            rates[name] = parse_rate(getattr(spec, name), f"price.{name}")
        except MoneyError as exc:
            field, _, why = str(exc).partition(": ")
            violations.append(FieldViolation(field, why))
    if spec.hardware not in Hardware.values:
        violations.append(FieldViolation("price.hardware", "emulated or real"))
    if spec.effective_from < now.replace(microsecond=0):
        violations.append(FieldViolation("price.effective_from", "must not be in the past"))
    if not reason.strip():
        violations.append(FieldViolation("reason", "is required (it is audited)"))
    if violations:
        raise InvalidArgument(violations)
    spec = replace(
        spec, on_demand_rate=rates["on_demand_rate"], preemptible_rate=rates["preemptible_rate"]
    )
    before = price_at(spec.pool, spec.effective_from)
    try:
        with transaction.atomic():
            entry = _create(spec, actor.label, reason.strip())
            record(
                AuditAction.PRICE_CHANGED,
                actor=actor,
                target=f"pools/{spec.pool}",
                before=_audit_view(before) if before else None,
                after=_audit_view(entry),
            )
    except IntegrityError:
        raise FailedPrecondition(
            f"pool {spec.pool} already has a price starting {spec.effective_from.isoformat()}"
        ) from None
    return entry


def _audit_view(entry: PriceEntry) -> dict[str, str]:
    return {
        "effective_from": entry.effective_from.isoformat(),
        "on_demand_usd_per_device_second": str(entry.on_demand_rate),
        "preemptible_usd_per_device_second": str(entry.preemptible_rate),
        "hardware": entry.hardware,
    }


def known_pools() -> list[str]:
    """Pools that may carry a price: the inventory's, and any priced before."""
    pools = set(inventory().pools()) | set(PriceEntry.objects.values_list("pool", flat=True))
    return sorted(pools)


def accelerator_prices(
    at: datetime | None = None,
    entries: Sequence[PriceEntry] | None = None,
    *,
    preemptible: bool = False,
) -> dict[str, float]:
    """USD per device-hour by accelerator type, for the estimator and the scheduler: the
    on-demand (or, for a preemptible job's estimate, the preemptible) rate of the
    inventory's pool of that type; a type several pools offer takes the dearest, so an
    estimate never undershoots the bill."""
    rates = {
        e.pool: e.preemptible_rate if preemptible else e.on_demand_rate
        for e in (entries or current_prices(at))
    }
    out: dict[str, float] = {}
    for pool, accelerator in inventory().pools().items():
        if pool in rates:
            price = float(per_hour(rates[pool]))
            out[accelerator] = max(out.get(accelerator, 0.0), price)
    return out


def _parse_time(text: str, field: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{field}.effective_from: not an ISO 8601 time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
