"""Self-service organizations and their members: create one, list members, change a role,
remove a member, leave, transfer ownership.

Who may: tenancy.permissions (MEMBERS_MANAGE for admins and owners; MEMBERS_MANAGE_OWNERS,
owners only, to make, demote or remove an owner or hand ownership over; MEMBERS_LEAVE for
everyone). An organization always keeps an owner: the last one cannot leave, be demoted or
be removed. Owner checks lock the organization's owner rows, so two owners stepping down at
once cannot both succeed. Every change writes its audit row in its own transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction

from dojocloud.audit.facade import Actor, AuditAction, record
from dojocloud.common.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from dojocloud.tenancy.models import Membership, Organization, Role
from dojocloud.tenancy.permissions import Action, Principal, allows, operator_org, require

# DNS-label-like: it names the organization in every resource name (organizations/{slug}).
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$")
SLUG_RULE = (
    "3 to 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit"
)


@dataclass(frozen=True)
class MemberRow:
    """A member as the Members page lists them, with what the caller may do to them."""

    membership_id: int
    username: str
    email: str
    role: str
    joined_at: datetime
    is_you: bool
    assignable_roles: tuple[str, ...]  # roles the caller may give them (empty: none)
    can_remove: bool
    can_transfer: bool  # the caller may hand them ownership


def actor(principal: Principal, source: str) -> Actor:
    return Actor.for_user(principal.user, source)


def _audit_target(user: User) -> str:
    return f"user:{user.get_username()}"


def _record(
    principal: Principal,
    action: AuditAction,
    target: str,
    source: str,
    *,
    before: Mapping[str, object] | None = None,
    after: Mapping[str, object] | None = None,
) -> None:
    org = principal.organization
    record(
        action,
        actor=actor(principal, source),
        org_slug=org.slug,
        organization_id=org.pk,
        target=target,
        before=before,
        after=after,
    )


def check_slug(slug: str) -> list[FieldViolation]:
    if not SLUG_RE.match(slug):
        return [FieldViolation("slug", f"must be {SLUG_RULE}")]
    if slug == operator_org():
        return [FieldViolation("slug", f"{slug!r} is reserved for the platform's operators")]
    if Organization.objects.filter(slug=slug).exists():
        return [FieldViolation("slug", f"{slug!r} is taken: choose another")]
    return []


def create_own_organization(
    user: User | AnonymousUser, *, slug: str, name: str, source: str
) -> Organization:
    """A signed-in user founds an organization and becomes its owner."""
    if not isinstance(user, User) or not user.is_authenticated or not user.is_active:
        raise PermissionDenied("sign in to create an organization")
    slug, name = slug.strip(), name.strip()
    violations = check_slug(slug)
    if not name:
        violations.append(FieldViolation("name", "is required"))
    elif len(name) > 200:
        violations.append(FieldViolation("name", "must be at most 200 characters"))
    if violations:
        raise InvalidArgument(violations)
    try:
        with transaction.atomic():
            org = Organization.objects.create(slug=slug, name=name)
            Membership.objects.create(organization=org, user=user, role=Role.OWNER)
            record(
                AuditAction.ORG_CREATED,
                actor=Actor.for_user(user, source),
                org_slug=org.slug,
                organization_id=org.pk,
                target=org.resource_name,
                after={"slug": slug, "name": name, "owner": user.get_username()},
            )
    except IntegrityError:  # the same slug, created a moment ago
        raise InvalidArgument(
            [FieldViolation("slug", f"{slug!r} is taken: choose another")]
        ) from None
    return org


def _may_set(principal: Principal, current: str, new: str) -> bool:
    if not allows(principal, Action.MEMBERS_MANAGE):
        return False
    touches_owner = Role.OWNER in (current, new)
    return not touches_owner or allows(principal, Action.MEMBERS_MANAGE_OWNERS)


def _require_set(principal: Principal, current: str, new: str) -> None:
    require(principal, Action.MEMBERS_MANAGE)
    if Role.OWNER in (current, new):
        require(principal, Action.MEMBERS_MANAGE_OWNERS)


def members_of(principal: Principal) -> list[MemberRow]:
    require(principal, Action.MEMBERS_READ)
    rows = []
    memberships = (
        Membership.objects.select_related("user")
        .filter(organization=principal.organization)
        .order_by("user__username")
    )
    you = principal.user.pk if principal.user is not None else None
    for m in memberships:
        mine = m.user_id == you
        roles = tuple(r for r in Role.values if r != m.role and _may_set(principal, m.role, r))
        rows.append(
            MemberRow(
                membership_id=m.pk,
                username=m.user.get_username(),
                email=m.user.email,
                role=m.role,
                joined_at=m.created_at,
                is_you=mine,
                assignable_roles=roles,
                can_remove=not mine and _may_set(principal, m.role, m.role),
                can_transfer=(
                    not mine
                    and m.role != Role.OWNER
                    and principal.role == Role.OWNER
                    and allows(principal, Action.MEMBERS_MANAGE_OWNERS)
                ),
            )
        )
    return rows


def _locked_member(principal: Principal, membership_id: int) -> Membership:
    m = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(organization=principal.organization, id=membership_id)
        .first()
    )
    if m is None:
        raise NotFound(f"member {membership_id}")
    return m


def _refuse_last_owner(m: Membership, doing: str) -> None:
    """FailedPrecondition when `m` is its organization's only owner. Locks the owner rows."""
    if m.role != Role.OWNER:
        return
    owners = list(
        Membership.objects.select_for_update()
        .filter(organization_id=m.organization_id, role=Role.OWNER)
        .values_list("id", flat=True)
    )
    if owners == [m.pk]:
        raise FailedPrecondition(
            f"{m.user.get_username()} is the last owner of {m.organization.slug!r} and cannot "
            f"{doing}: make another member an owner first (Transfer ownership)"
        )


def change_role(principal: Principal, membership_id: int, role: str, *, source: str) -> Membership:
    """Takes effect at once, for the member's sessions and API keys alike (both read the
    membership on every request)."""
    if role not in Role.values:
        raise InvalidArgument([FieldViolation("role", "one of " + ", ".join(Role.values))])
    with transaction.atomic():
        m = _locked_member(principal, membership_id)
        _require_set(principal, m.role, role)
        if m.role == role:
            return m
        if role != Role.OWNER:
            _refuse_last_owner(m, "be demoted")
        before = m.role
        m.role = role
        m.save(update_fields=["role"])
        _record(
            principal,
            AuditAction.MEMBER_ROLE_CHANGED,
            _audit_target(m.user),
            source,
            before={"role": before},
            after={"role": role},
        )
    return m


def remove_member(principal: Principal, membership_id: int, *, source: str) -> None:
    """Ends the membership: the member's sessions and keys lose the organization at once.
    Removing oneself is leaving."""
    with transaction.atomic():
        m = _locked_member(principal, membership_id)
        if principal.user is not None and m.user_id == principal.user.pk:
            _leave(principal, m, source)
            return
        _require_set(principal, m.role, m.role)
        _refuse_last_owner(m, "be removed")
        m.delete()
        _record(
            principal,
            AuditAction.MEMBER_REMOVED,
            _audit_target(m.user),
            source,
            before={"role": m.role},
        )


def _leave(principal: Principal, m: Membership, source: str) -> None:
    require(principal, Action.MEMBERS_LEAVE)
    _refuse_last_owner(m, "leave")
    m.delete()
    _record(
        principal, AuditAction.MEMBER_LEFT, _audit_target(m.user), source, before={"role": m.role}
    )


def leave(principal: Principal, *, source: str) -> None:
    if principal.user is None or principal.api_key_id is not None:
        raise PermissionDenied("only a signed-in member can leave an organization")
    with transaction.atomic():
        m = (
            Membership.objects.select_for_update()
            .select_related("user", "organization")
            .filter(organization=principal.organization, user=principal.user)
            .first()
        )
        if m is None:
            raise NotFound(f"membership in {principal.organization.slug}")
        _leave(principal, m, source)


def transfer_ownership(principal: Principal, membership_id: int, *, source: str) -> None:
    """An owner makes another member owner and steps down to admin, in one transaction."""
    require(principal, Action.MEMBERS_MANAGE_OWNERS)
    if principal.user is None:
        raise PermissionDenied("only a signed-in owner can transfer ownership")
    with transaction.atomic():
        target = _locked_member(principal, membership_id)
        mine = _locked_member_of(principal)
        if target.pk == mine.pk:
            raise FailedPrecondition("you already own this organization: choose another member")
        if mine.role != Role.OWNER:
            raise PermissionDenied("only an owner can transfer ownership")
        before = {"owner": mine.user.get_username(), target.user.get_username(): target.role}
        target.role, mine.role = Role.OWNER, Role.ADMIN
        target.save(update_fields=["role"])
        mine.save(update_fields=["role"])
        _record(
            principal,
            AuditAction.OWNERSHIP_TRANSFERRED,
            _audit_target(target.user),
            source,
            before=before,
            after={"owner": target.user.get_username(), mine.user.get_username(): Role.ADMIN.value},
        )


def _locked_member_of(principal: Principal) -> Membership:
    m = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(organization=principal.organization, user=principal.user)
        .first()
    )
    if m is None:
        raise PermissionDenied("you are not a member of this organization")
    return m
