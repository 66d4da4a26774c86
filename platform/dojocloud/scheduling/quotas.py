"""Tenant quotas and decayed usage: the persisted side of scheduler.core.quota.

Tenants are organizations (the core's tenant id is the slug). A tenant without quota rows
is unlimited. Cohort and weight are per tenant: setting them on one pool sets them on all of
the tenant's rows, so the core's one-cohort-per-tenant model holds.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dojocloud.audit.facade import Actor, AuditAction, record
from dojocloud.common.errors import FieldViolation, InvalidArgument, NotFound
from dojocloud.scheduling.models import Device, TenantQuota, TenantUsage
from dojocloud.scheduling.wake import wake
from dojocloud.tenancy.facade import Organization
from scheduler.core import Snapshot, decay_usage
from scheduler.core import TenantQuota as CoreQuota

DEFAULT_HALF_LIFE_S = 7 * 24 * 3600.0


def half_life_s() -> float:
    """DOJO_USAGE_HALF_LIFE_S (settings.USAGE_HALF_LIFE_S), default 7 days."""
    return float(getattr(settings, "USAGE_HALF_LIFE_S", DEFAULT_HALF_LIFE_S))


@dataclass(frozen=True)
class QuotaSpec:
    """One tenant's quota in one pool, as operators set it (None = unlimited)."""

    tenant: str
    pool: str
    nominal: int
    borrowing_limit: int | None = None
    lending_limit: int | None = None
    cohort: str = "default"
    weight: float = 1.0


@dataclass(frozen=True)
class QuotaView:
    spec: QuotaSpec
    decayed_usage: float
    updated_at: datetime
    updated_by: str
    note: str


def load_tenants() -> dict[str, CoreQuota]:
    """The core's TenantQuota per tenant with at least one quota row."""
    usage = dict(TenantUsage.objects.values_list("organization__slug", "decayed_usage"))
    rows: dict[str, list[TenantQuota]] = defaultdict(list)
    for q in TenantQuota.objects.select_related("organization").order_by("pool"):
        rows[q.organization.slug].append(q)
    return {
        slug: CoreQuota(
            nominal={q.pool: q.nominal for q in qs},
            borrowing_limit={q.pool: q.borrowing_limit for q in qs},
            lending_limit={q.pool: q.lending_limit for q in qs},
            cohort=qs[0].cohort,
            weight=qs[0].weight,
            decayed_usage=usage.get(slug, 0.0),
        )
        for slug, qs in rows.items()
    }


def _dominant_shares(snapshot: Snapshot) -> dict[str, float]:
    sizes: dict[str, int] = defaultdict(int)
    for t in snapshot.capacity.tiles:
        sizes[t.pool] += 1
    for n in snapshot.capacity.gpu_nodes:
        sizes[n.pool] += n.gpus
    held: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in snapshot.running:
        held[r.tenant][r.placement.pool] += len(r.placement.devices)
    return {
        tenant: max((n / sizes[p] for p, n in pools.items() if sizes.get(p)), default=0.0)
        for tenant, pools in held.items()
    }


def advance_usage(snapshot: Snapshot, now: float) -> dict[str, float]:
    """Decays every tenant's usage to `now`, charging the share it holds in `snapshot` for
    the time since the last pass. Returns tenant -> new decayed usage."""
    shares = _dominant_shares(snapshot)
    at = datetime.fromtimestamp(now, tz=UTC)
    existing = {u.organization.slug: u for u in TenantUsage.objects.select_related("organization")}
    out: dict[str, float] = {}
    for slug, row in existing.items():
        dt = max(0.0, now - row.updated_at.timestamp())
        out[slug] = decay_usage(row.decayed_usage, shares.get(slug, 0.0), dt, half_life_s())
        TenantUsage.objects.filter(pk=row.pk).update(decayed_usage=out[slug], updated_at=at)
    new = [s for s in shares if s not in existing]
    for org in Organization.objects.filter(slug__in=new):
        TenantUsage.objects.get_or_create(
            organization=org, defaults={"updated_at": at, "decayed_usage": 0.0}
        )
        out[org.slug] = 0.0
    return out


def _validate(spec: QuotaSpec) -> None:
    bad: list[FieldViolation] = []
    if not Device.objects.filter(pool=spec.pool, in_inventory=True).exists():
        bad.append(FieldViolation("pool", f"no pool named {spec.pool!r} in the inventory"))
    for field, value in (
        ("nominal", spec.nominal),
        ("borrowing_limit", spec.borrowing_limit),
        ("lending_limit", spec.lending_limit),
    ):
        if value is not None and value < 0:
            bad.append(FieldViolation(field, "must be zero or more"))
    if not spec.weight > 0:
        bad.append(FieldViolation("weight", "must be above zero"))
    if not spec.cohort.strip() or len(spec.cohort) > 64:
        bad.append(FieldViolation("cohort", "1 to 64 characters"))
    if bad:
        raise InvalidArgument(bad)


def _organization(tenant: str) -> Organization:
    org = Organization.objects.filter(slug=tenant).first()
    if org is None:
        raise NotFound(f"organizations/{tenant}")
    return org


def _quota_state(q: TenantQuota | None) -> dict[str, object] | None:
    if q is None:
        return None
    return {
        "nominal": q.nominal,
        "borrowing_limit": q.borrowing_limit,
        "lending_limit": q.lending_limit,
        "cohort": q.cohort,
        "weight": q.weight,
    }


def set_quota(
    spec: QuotaSpec, *, actor: str, reason: str = "", audit_actor: Actor | None = None
) -> QuotaView:
    """Creates or replaces the tenant's quota in the pool; wakes the scheduler. The audit
    row is the tenant's (its admins see their quota change) and commits with the change."""
    org = _organization(spec.tenant)
    _validate(spec)
    with transaction.atomic():
        rows = TenantQuota.objects.select_for_update().filter(organization=org, pool=spec.pool)
        before = _quota_state(rows.first())
        q, _ = TenantQuota.objects.update_or_create(
            organization=org,
            pool=spec.pool,
            defaults={
                "nominal": spec.nominal,
                "borrowing_limit": spec.borrowing_limit,
                "lending_limit": spec.lending_limit,
                "updated_at": timezone.now(),
                "updated_by": actor,
                "note": reason,
            },
        )
        TenantQuota.objects.filter(organization=org).update(cohort=spec.cohort, weight=spec.weight)
        q.refresh_from_db()
        after = _quota_state(q)
        record(
            AuditAction.QUOTA_SET,
            actor=audit_actor or Actor(label=actor),
            org_slug=org.slug,
            organization_id=org.pk,
            target=f"organizations/{org.slug}/quotas/{spec.pool}",
            before=before,
            after={**(after or {}), "reason": reason},
        )
    transaction.on_commit(wake)
    return get_quota(spec.tenant, spec.pool)


def _view(q: TenantQuota, usage: float) -> QuotaView:
    return QuotaView(
        QuotaSpec(
            q.organization.slug,
            q.pool,
            q.nominal,
            q.borrowing_limit,
            q.lending_limit,
            q.cohort,
            q.weight,
        ),
        usage,
        q.updated_at,
        q.updated_by,
        q.note,
    )


def get_quota(tenant: str, pool: str) -> QuotaView:
    q = (
        TenantQuota.objects.select_related("organization")
        .filter(organization__slug=tenant, pool=pool)
        .first()
    )
    if q is None:
        raise NotFound(f"organizations/{tenant}/quotas/{pool}")
    usage = TenantUsage.objects.filter(organization=q.organization).first()
    return _view(q, usage.decayed_usage if usage else 0.0)


def list_quotas(tenant: str = "") -> list[QuotaView]:
    rows = TenantQuota.objects.select_related("organization")
    if tenant:
        rows = rows.filter(organization__slug=tenant)
    usage = dict(TenantUsage.objects.values_list("organization__slug", "decayed_usage"))
    return [_view(q, usage.get(q.organization.slug, 0.0)) for q in rows]
