"""Portal and console sign-ins, recorded from Django's auth signals.

Every way in (the portal's login page, allauth's, the admin's) authenticates through
django.contrib.auth, so its signals see them all: a success, a failure (the name that was
tried, never the password: Django's signal carries the credentials with it masked, and only
the name is read here), a lock-out (django-axes refuses inside `authenticate`, which then
sends `user_login_failed` too) and a logout. These rows have no organization: a sign-in is
the account's, not one organization's, so operators read them in the console."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.http import HttpRequest

from dojocloud.audit.events import AuditAction
from dojocloud.audit.services import Actor, record

# The fields a login form may name its user by (Django's: username; allauth's: login, email).
_NAME_FIELDS = ("username", "login", "email")
MAX_NAME = 150  # Django's own username limit: a longer "name" is not one


def source_of(request: HttpRequest | None) -> str:
    """The client's address as the server saw it (REMOTE_ADDR; X-Forwarded-For is forgeable
    and never believed, as django-axes is configured)."""
    if request is None:
        return ""
    return str(request.META.get("REMOTE_ADDR", "") or "")


def _tried(credentials: dict[str, Any] | None) -> str:
    for field in _NAME_FIELDS:
        value = (credentials or {}).get(field)
        if isinstance(value, str) and value.strip():
            return value.strip()[:MAX_NAME]
    return ""


def _logged_in(sender: object, request: HttpRequest | None, user: User, **_: Any) -> None:
    record(
        AuditAction.LOGIN_SUCCEEDED,
        actor=Actor.for_user(user, source_of(request)),
        target=user.get_username(),
    )


def _login_failed(
    sender: object,
    credentials: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
    **_: Any,
) -> None:
    name = _tried(credentials)
    record(
        AuditAction.LOGIN_FAILED,
        actor=Actor(label="anonymous", source=source_of(request)),
        target=name,
        after={"username": name},
    )


def _logged_out(sender: object, request: HttpRequest | None, user: User | None, **_: Any) -> None:
    if user is None:  # logging out without a session: nothing happened
        return
    record(
        AuditAction.LOGOUT,
        actor=Actor.for_user(user, source_of(request)),
        target=user.get_username(),
    )


def connect() -> None:
    """Called once from the app's ready(); the uid keeps a second call from doubling rows."""
    user_logged_in.connect(_logged_in, dispatch_uid="audit.login_succeeded")
    user_login_failed.connect(_login_failed, dispatch_uid="audit.login_failed")
    user_logged_out.connect(_logged_out, dispatch_uid="audit.logout")
