"""Account events that belong to no organization: a sign-up and a password reset. allauth
makes the change; these write its audit row in the same transaction (the portal's adapter
calls them inside it)."""

from __future__ import annotations

from django.contrib.auth.models import User

from dojocloud.audit.facade import Actor, AuditAction, record


def record_signed_up(user: User, *, source: str) -> None:
    record(
        AuditAction.USER_SIGNED_UP,
        actor=Actor.for_user(user, source),
        target=f"user:{user.get_username()}",
        after={"username": user.get_username(), "email": user.email},
    )


def record_password_reset(user: User, *, source: str) -> None:
    """The reset through an emailed link (never the password, nor the link's key)."""
    record(
        AuditAction.PASSWORD_RESET,
        actor=Actor.for_user(user, source),
        target=f"user:{user.get_username()}",
    )
