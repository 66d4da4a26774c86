"""Tenancy's services: organizations, memberships, principals and API keys.

A Principal is who is calling and for which organization; every other service takes one.
What it may do is decided in tenancy.permissions, from the role its membership has now.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from dojocloud.audit.facade import Actor, AuditAction, record
from dojocloud.common.errors import (
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from dojocloud.tenancy.actors import actor_for
from dojocloud.tenancy.models import ApiKey, Membership, Organization, Role, Scope
from dojocloud.tenancy.permissions import (
    Action,
    Principal,
    require,
    require_console,
    revoke_action,
)

KEY_PREFIX = "dojo"
# Only update last_used_at this often: a write per call would serialize SQLite.
LAST_USED_RESOLUTION_S = 60


@transaction.atomic
def create_organization(slug: str, name: str, owner: User) -> Organization:
    org = Organization.objects.create(slug=slug, name=name)
    Membership.objects.create(organization=org, user=owner, role=Role.OWNER)
    return org


def add_member(org: Organization, user: User, role: str = Role.MEMBER) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        organization=org, user=user, defaults={"role": Role(role)}
    )
    return membership


def principal_for_user(user: User | AnonymousUser, org_slug: str | None = None) -> Principal:
    """The portal's principal: the user's membership in `org_slug`, or their first one.

    Takes `request.user` as it comes; an anonymous or deactivated user is a member of
    nothing. The role is read now, on every request: a changed role applies at once."""
    if not user.is_authenticated or not user.is_active:
        raise PermissionDenied("you are not a member of this organization")
    memberships = Membership.objects.select_related("organization").filter(user=user)
    if org_slug is not None:
        memberships = memberships.filter(organization__slug=org_slug)
    membership = memberships.order_by("created_at", "id").first()
    if membership is None:
        raise PermissionDenied("you are not a member of this organization")
    return Principal(membership.organization, user, None, membership.role)


def organizations_for_user(user: User) -> list[Organization]:
    return [
        m.organization
        for m in Membership.objects.select_related("organization")
        .filter(user=user)
        .order_by("organization__slug")
    ]


def _hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def _with_creator_role(keys: QuerySet[ApiKey]) -> QuerySet[ApiKey]:
    """Each key with `creator_role`: its creator's role in the key's organization now (None
    once they left), read in the same query as the key."""
    role = Membership.objects.filter(
        organization_id=OuterRef("organization_id"), user_id=OuterRef("created_by_id")
    ).values("role")[:1]
    return keys.annotate(creator_role=Subquery(role))


def _creator_role(key: ApiKey) -> str | None:
    role: str | None = getattr(key, "creator_role", None)
    return role


def _check_expiry(expires_at: datetime | None) -> None:
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidArgument([FieldViolation("expires_at", "must be in the future")])


def create_api_key(
    principal: Principal,
    *,
    name: str,
    scope: str = Scope.FULL,
    expires_at: datetime | None = None,
    actor: Actor | None = None,
) -> tuple[ApiKey, str]:
    """Returns the key row and the raw key, which is never stored and shown only now.
    The key acts with its creator's current role narrowed to `scope`, until `expires_at`
    (None: no expiry). Only a signed-in user creates keys, never another key. The audit
    row (`actor`: who and from where, default the principal from nowhere) names the key by
    its prefix and commits with it."""
    if principal.api_key_id is not None or principal.user is None:
        raise PermissionDenied("an API key cannot create API keys")
    require(principal, Action.KEYS_CREATE)
    if scope not in Scope.values:
        raise InvalidArgument([FieldViolation("scope", "one of " + ", ".join(Scope.values))])
    _check_expiry(expires_at)
    prefix = secrets.token_hex(4)
    raw = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        key = ApiKey.objects.create(
            organization=principal.organization,
            created_by=principal.user,
            name=name.strip()[:100] or "key",
            scope=scope,
            expires_at=expires_at,
            prefix=prefix,
            key_hash=_hash_key(raw),
        )
        record(
            AuditAction.KEY_CREATED,
            actor=actor or actor_for(principal),
            org_slug=principal.organization.slug,
            organization_id=principal.organization.pk,
            target=_key_target(key),
            after=_key_state(key),
        )
    return key, raw


def _key_target(key: ApiKey) -> str:
    return f"key {KEY_PREFIX}_{key.prefix}"


def _key_state(key: ApiKey) -> dict[str, object]:
    """What the audit trail keeps of a key: never its hash, nor (unknown here) its secret."""
    return {
        "name": key.name,
        "prefix": f"{KEY_PREFIX}_{key.prefix}",
        "scope": str(key.scope),
        "created_by": key.created_by.get_username() if key.created_by else None,
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


@dataclass(frozen=True)
class KeyRow:
    """A key as the portal lists it: whether it works now, and whether the caller may
    revoke it."""

    key: ApiKey
    creator: str
    creator_role: str | None
    status: str  # active, revoked, expired, or why its creator no longer lends it a role
    can_revoke: bool


def _status(key: ApiKey, creator_role: str | None) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.is_expired:
        return "expired"
    if key.created_by is None or not key.created_by.is_active:
        return "creator inactive"
    return "active" if creator_role is not None else "creator left"


def api_keys_for(principal: Principal) -> list[KeyRow]:
    require(principal, Action.KEYS_READ)
    keys = _with_creator_role(
        ApiKey.objects.select_related("created_by").filter(organization=principal.organization)
    )
    rows = []
    for key in keys.order_by("-created_at", "-id"):
        role = _creator_role(key)
        status = _status(key, role)
        may = principal.can(revoke_action(principal, key.created_by_id, role))
        creator = key.created_by.get_username() if key.created_by else "(deleted)"
        rows.append(KeyRow(key, creator, role, status, may and status != "revoked"))
    return rows


def _revoke(keys: QuerySet[ApiKey], actor: Actor) -> int:
    """What revoking records: the time, once (a key revoked before keeps its first time),
    and an audit row per key revoked now, in the same transaction. Calls with a revoked key
    are refused from then on (authenticate_api_key)."""
    with transaction.atomic():
        active = list(
            keys.filter(revoked_at__isnull=True)
            .select_related("organization", "created_by")
            .select_for_update(of=("self",))  # PostgreSQL: not the nullable creator's side
        )
        now = timezone.now()
        count = ApiKey.objects.filter(
            id__in=[k.id for k in active], revoked_at__isnull=True
        ).update(revoked_at=now)
        for key in active:
            before = _key_state(key)
            key.revoked_at = now
            record(
                AuditAction.KEY_REVOKED,
                actor=actor,
                org_slug=key.organization.slug,
                organization_id=key.organization_id,
                target=_key_target(key),
                before=before,
                after=_key_state(key),
            )
    return count


def revoke_api_key(principal: Principal, key_id: int, *, actor: Actor | None = None) -> None:
    """A tenant revokes one of its organization's keys: anyone their own, owners and admins
    another member's, only an owner a key whose creator is an owner."""
    key = _with_creator_role(
        ApiKey.objects.filter(organization=principal.organization, id=key_id)
    ).first()
    if key is None:
        raise NotFound(f"api key {key_id}")
    require(principal, revoke_action(principal, key.created_by_id, _creator_role(key)))
    _revoke(ApiKey.objects.filter(id=key.id), actor or actor_for(principal))


def revoke_api_keys_as_operator(
    user: User | AnonymousUser, key_ids: Iterable[int], *, actor: Actor | None = None
) -> int:
    """The operator console revokes keys of any organization: active staff only. Returns
    how many were active until now. Each key's row is its organization's (its admins see
    that an operator revoked it)."""
    require_console(user)
    who = actor or Actor.for_user(user if isinstance(user, User) else None)
    return _revoke(ApiKey.objects.filter(id__in=list(key_ids)), who)


def _refuse_unusable(key: ApiKey, role: str | None) -> str:
    """The role the key acts with now, or Unauthenticated saying why it acts with none."""
    if key.revoked_at is not None:
        raise Unauthenticated("API key revoked")
    if key.expires_at is not None and key.expires_at <= timezone.now():
        raise Unauthenticated(f"API key expired at {key.expires_at.isoformat()}")
    creator = key.created_by
    if creator is None or not creator.is_active:
        raise Unauthenticated(
            "API key no longer valid: the account that created it is deactivated or deleted"
        )
    if role is None:
        raise Unauthenticated(
            "API key no longer valid: the user who created it is no longer "
            f"a member of {key.organization.slug!r}"
        )
    return role


def authenticate_api_key(raw_key: str) -> Principal:
    """The key's principal, decided now: its creator's current role in the key's
    organization, narrowed to the key's scope. One query (key, organization, creator and
    membership role together); nothing is cached between calls."""
    parts = (raw_key or "").strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        raise Unauthenticated("malformed API key")
    key = _with_creator_role(
        ApiKey.objects.select_related("organization", "created_by").filter(prefix=parts[1])
    ).first()
    # compare_digest: the hash comparison must not leak how many characters matched.
    if key is None or not secrets.compare_digest(key.key_hash, _hash_key(raw_key.strip())):
        raise Unauthenticated("invalid API key")
    role = _refuse_unusable(key, _creator_role(key))
    now = timezone.now()
    if (
        key.last_used_at is None
        or (now - key.last_used_at).total_seconds() > LAST_USED_RESOLUTION_S
    ):
        ApiKey.objects.filter(id=key.id).update(last_used_at=now)
    return Principal(key.organization, key.created_by, key.id, role, key.scope)
