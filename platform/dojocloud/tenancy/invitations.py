"""Invitations by email: an admin invites an address with a role; whoever signs in with that
address, verified, accepts and becomes a member with that role.

The link's token is `django.core.signing` over the invitation's id (and a digest of its
email and creation time, binding it to that row), salted, with
its timestamp: nothing secret is stored (the row holds no token; a token is only ever
derived with the SECRET_KEY), a changed token fails its signature, and it expires after
settings.INVITATION_EXPIRY_DAYS (DOJO_INVITATION_EXPIRY_DAYS, default 7) as the row's
`expires_at` does. A token works once: acceptance marks the row; revocation too.

Acceptance needs the invited address verified on the accepting account (allauth's
EmailAddress): an account without it is refused, naming the invited address, and the
invitation stays pending for the right account.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from dojocloud.audit.facade import Actor, AuditAction, record
from dojocloud.common.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from dojocloud.tenancy.models import Invitation, Membership, Role
from dojocloud.tenancy.permissions import Action, Principal, require

SALT = "dojocloud.tenancy.invitation"

# Sends the email with the accept link; raising rolls the invitation back.
Deliver = Callable[[Invitation, str], None]


class InvitationUnusable(FailedPrecondition):
    """The link cannot be used: `reason` is invalid, expired, revoked or accepted."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def expiry() -> timedelta:
    return timedelta(days=settings.INVITATION_EXPIRY_DAYS)


def _binding(invitation: Invitation) -> str:
    """Ties a token to this row (an id reused after a database reset does not match), without
    putting the address into the link."""
    text = f"{invitation.email.lower()}|{invitation.created_at.isoformat()}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def token_for(invitation: Invitation) -> str:
    return signing.dumps({"i": invitation.pk, "b": _binding(invitation)}, salt=SALT)


def _target(invitation: Invitation) -> str:
    return f"invitation:{invitation.pk}"


def _require_invite(principal: Principal, role: str) -> None:
    require(principal, Action.MEMBERS_MANAGE)
    if role == Role.OWNER:
        require(principal, Action.MEMBERS_MANAGE_OWNERS)


def _pending(qs: QuerySet[Invitation]) -> QuerySet[Invitation]:
    return qs.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )


def _member_with_email(principal: Principal, email: str) -> Membership | None:
    users_with_it = EmailAddress.objects.filter(email__iexact=email).values("user_id")
    return (
        Membership.objects.select_related("user")
        .filter(organization=principal.organization)
        .filter(Q(user__email__iexact=email) | Q(user_id__in=users_with_it))
        .first()
    )


def invite(
    principal: Principal, *, email: str, role: str, source: str, deliver: Deliver
) -> Invitation:
    """Creates the invitation and hands it and its token to `deliver` (which emails the
    link) in one transaction: when sending fails, no invitation is left behind."""
    email = email.strip()
    violations = []
    try:
        validate_email(email)
    except ValidationError:
        violations.append(FieldViolation("email", "must be an email address"))
    if role not in Role.values:
        violations.append(FieldViolation("role", "one of " + ", ".join(Role.values)))
    if violations:
        raise InvalidArgument(violations)
    _require_invite(principal, role)
    org = principal.organization
    with transaction.atomic():
        member = _member_with_email(principal, email)
        if member is not None:
            raise FailedPrecondition(
                f"{email} is already a member of {org.slug!r} ({member.user.get_username()}, "
                f"{member.role})"
            )
        if _pending(Invitation.objects.filter(organization=org, email__iexact=email)).exists():
            raise FailedPrecondition(
                f"{email} already has a pending invitation to {org.slug!r}: revoke it to send "
                "a new one"
            )
        invitation = Invitation.objects.create(
            organization=org,
            email=email,
            role=role,
            invited_by=principal.user,
            expires_at=timezone.now() + expiry(),
        )
        record(
            AuditAction.INVITATION_CREATED,
            actor=Actor.for_user(principal.user, source),
            org_slug=org.slug,
            organization_id=org.pk,
            target=_target(invitation),
            after={
                "email": email,
                "role": role,
                "expires_at": invitation.expires_at.isoformat(),
            },
        )
        deliver(invitation, token_for(invitation))
    return invitation


def resolve(token: str, *, lock: bool = False) -> Invitation:
    """The invitation a token names, usable now; InvitationUnusable saying why not."""
    try:
        data = signing.loads(token, salt=SALT, max_age=expiry())
    except signing.SignatureExpired:
        raise InvitationUnusable(
            "expired", "This invitation has expired: ask for a new one."
        ) from None
    except signing.BadSignature:
        raise InvitationUnusable(
            "invalid", "This is not a valid invitation link: check that it was copied whole."
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("i"), int):
        raise InvitationUnusable("invalid", "This is not a valid invitation link.")
    qs = Invitation.objects.select_related("organization", "invited_by")
    if lock:
        qs = qs.select_for_update(of=("self",))  # not the nullable inviter's row (PostgreSQL)
    invitation = qs.filter(pk=data["i"]).first()
    if invitation is None or _binding(invitation) != data.get("b"):
        raise InvitationUnusable(
            "invalid", "This invitation no longer exists: its organization may have been deleted."
        )
    status = invitation.status
    if status == "accepted":
        raise InvitationUnusable("accepted", "This invitation has already been used.")
    if status == "revoked":
        raise InvitationUnusable("revoked", "This invitation was revoked by the organization.")
    if status == "expired":
        raise InvitationUnusable("expired", "This invitation has expired: ask for a new one.")
    return invitation


def verified_emails(user: User) -> list[str]:
    return sorted(
        EmailAddress.objects.filter(user=user, verified=True).values_list("email", flat=True)
    )


def accept(user: User | AnonymousUser, token: str, *, source: str) -> Membership:
    """The signed-in user joins with the invited role, if the invited address is one of
    their verified addresses."""
    if not isinstance(user, User) or not user.is_authenticated or not user.is_active:
        raise PermissionDenied("sign in to accept an invitation")
    with transaction.atomic():
        invitation = resolve(token, lock=True)
        org = invitation.organization
        mine = verified_emails(user)
        if invitation.email.lower() not in {e.lower() for e in mine}:
            yours = ", ".join(mine) if mine else "none"
            raise PermissionDenied(
                f"This invitation is for {invitation.email}, which is not a verified address "
                f"of {user.get_username()} (verified: {yours}). Sign in with the account of "
                f"{invitation.email}, or sign up with it."
            )
        existing = Membership.objects.filter(organization=org, user=user).first()
        if existing is not None:
            raise FailedPrecondition(
                f"You are already a member of {org.slug!r} ({existing.role}); the invitation "
                "is left unused."
            )
        membership = Membership.objects.create(organization=org, user=user, role=invitation.role)
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        who = Actor.for_user(user, source)
        record(
            AuditAction.INVITATION_ACCEPTED,
            actor=who,
            target=_target(invitation),
            after={"email": invitation.email, "role": invitation.role, "user": user.username},
            org_slug=org.slug,
            organization_id=org.pk,
        )
        record(
            AuditAction.MEMBER_ADDED,
            actor=who,
            target=f"user:{user.get_username()}",
            after={"role": invitation.role, "invitation": invitation.pk},
            org_slug=org.slug,
            organization_id=org.pk,
        )
    return membership


def pending_invitations(principal: Principal) -> list[Invitation]:
    require(principal, Action.MEMBERS_MANAGE)
    qs = _pending(Invitation.objects.filter(organization=principal.organization))
    return list(qs.select_related("invited_by").order_by("-created_at", "-id"))


def revoke(principal: Principal, invitation_id: int, *, source: str) -> None:
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .filter(organization=principal.organization, id=invitation_id)
            .first()
        )
        if invitation is None:
            raise NotFound(f"invitation {invitation_id}")
        _require_invite(principal, invitation.role)
        if invitation.status != "pending":
            raise FailedPrecondition(f"this invitation is {invitation.status}: nothing to revoke")
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        org = principal.organization
        record(
            AuditAction.INVITATION_REVOKED,
            actor=Actor.for_user(principal.user, source),
            org_slug=org.slug,
            organization_id=org.pk,
            target=_target(invitation),
            before={"email": invitation.email, "role": invitation.role},
        )
