"""Tenancy facade: organizations, memberships, principals and API keys.

A Principal is who is calling and for which organization; every other service takes one.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from dojocloud.common.errors import NotFound, PermissionDenied, Unauthenticated
from dojocloud.tenancy.models import ApiKey, Membership, Organization, Role

KEY_PREFIX = "dojo"
WRITE_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.MEMBER})
ADMIN_ROLES = frozenset({Role.OWNER, Role.ADMIN})
# Only update last_used_at this often: a write per call would serialize SQLite.
LAST_USED_RESOLUTION_S = 60


@dataclass(frozen=True)
class Principal:
    organization: Organization
    user: User | None
    api_key_id: int | None
    role: str

    @property
    def can_write(self) -> bool:
        return self.role in WRITE_ROLES

    @property
    def label(self) -> str:
        if self.user is not None:
            return f"user:{self.user.get_username()}"
        return f"key:{self.api_key_id}"


def require_write(principal: Principal) -> None:
    if not principal.can_write:
        raise PermissionDenied(f"role {principal.role!r} cannot change jobs")


def require_admin(principal: Principal) -> None:
    if principal.role not in ADMIN_ROLES:
        raise PermissionDenied(f"role {principal.role!r} cannot manage the organization")


@transaction.atomic
def create_organization(slug: str, name: str, owner: User) -> Organization:
    org = Organization.objects.create(slug=slug, name=name)
    Membership.objects.create(organization=org, user=owner, role=Role.OWNER)
    return org


def add_member(org: Organization, user: User, role: str = Role.MEMBER) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        organization=org, user=user, defaults={"role": Role(role)})
    return membership


def principal_for_user(user: User | AnonymousUser, org_slug: str | None = None) -> Principal:
    """The portal's principal: the user's membership in `org_slug`, or their first one.

    Takes `request.user` as it comes; an anonymous user is a member of nothing."""
    if not user.is_authenticated:
        raise PermissionDenied("you are not a member of this organization")
    memberships = Membership.objects.select_related("organization").filter(user=user)
    if org_slug is not None:
        memberships = memberships.filter(organization__slug=org_slug)
    membership = memberships.order_by("created_at", "id").first()
    if membership is None:
        raise PermissionDenied("you are not a member of this organization")
    return Principal(membership.organization, user, None, membership.role)


def organizations_for_user(user: User) -> list[Organization]:
    return [m.organization for m in
            Membership.objects.select_related("organization").filter(user=user)
            .order_by("organization__slug")]


def _hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def create_api_key(principal: Principal, *, name: str) -> tuple[ApiKey, str]:
    """Returns the key row and the raw key, which is never stored and shown only now.
    The key acts with the creator's role (a viewer's key can only read)."""
    if principal.role == Role.VIEWER and principal.user is None:
        raise PermissionDenied("an API key cannot create API keys")
    prefix = secrets.token_hex(4)
    raw = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        organization=principal.organization, created_by=principal.user,
        name=name.strip()[:100] or "key", role=principal.role, prefix=prefix,
        key_hash=_hash_key(raw))
    return key, raw


def api_keys_for(principal: Principal) -> list[ApiKey]:
    return list(ApiKey.objects.filter(organization=principal.organization)
                .order_by("-created_at", "-id"))


def _revoke(keys: QuerySet[ApiKey]) -> int:
    """What revoking records: the time, once (a key revoked before keeps its first time).
    Calls with a revoked key are refused from then on (authenticate_api_key)."""
    return keys.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


def revoke_api_key(principal: Principal, key_id: int) -> None:
    """A tenant revokes one of its organization's keys: any role that may write."""
    require_write(principal)
    keys = ApiKey.objects.filter(organization=principal.organization, id=key_id)
    if not _revoke(keys) and not keys.exists():
        raise NotFound(f"api key {key_id}")


def revoke_api_keys_as_operator(user: User | AnonymousUser, key_ids: Iterable[int]) -> int:
    """The operator console revokes keys of any organization: active staff only. Returns
    how many were active until now."""
    if not (user.is_active and user.is_staff):
        raise PermissionDenied("only operators (staff) can revoke keys across organizations")
    return _revoke(ApiKey.objects.filter(id__in=list(key_ids)))


def authenticate_api_key(raw_key: str) -> Principal:
    parts = (raw_key or "").strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        raise Unauthenticated("malformed API key")
    key = (ApiKey.objects.select_related("organization", "created_by")
           .filter(prefix=parts[1]).first())
    # compare_digest: the hash comparison must not leak how many characters matched.
    if key is None or not secrets.compare_digest(key.key_hash, _hash_key(raw_key.strip())):
        raise Unauthenticated("invalid API key")
    if key.revoked_at is not None:
        raise Unauthenticated("API key revoked")
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > LAST_USED_RESOLUTION_S:
        ApiKey.objects.filter(id=key.id).update(last_used_at=now)
    return Principal(key.organization, None, key.id, key.role)
