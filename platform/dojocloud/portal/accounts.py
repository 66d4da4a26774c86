"""The portal's hooks into django-allauth: sign-up, sign-in and password reset as the portal
wants them. allauth does the accounts (sign-up form, email verification, password reset
links); these say where its rules differ and write the audit rows (through tenancy):

* Sign-in by user name or email, on the form field `username` it always had (`/login/`).
* Email verification is mandatory for every address allauth knows of an account (every
  self-service account has one). Accounts made by operators (Django admin, `manage.py`,
  `seed_demo`) have none recorded and sign in by password, as before allauth.
* django-axes counts failures per account: an email typed at sign-in counts for the account
  that has it.
"""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.forms import LoginForm, ResetPasswordKeyForm
from allauth.account.models import EmailAddress
from allauth.account.stages import EmailVerificationStage
from allauth.core import context
from django.contrib.auth.models import AbstractBaseUser, User
from django.db import transaction
from django.forms import BaseForm
from django.http import HttpRequest

from dojocloud.tenancy import facade as tenancy


def client_address(request: HttpRequest | None) -> str:
    """Where a request came from, for the audit trail: the TCP peer (no forwarded headers,
    which any client can forge; as django-axes)."""
    return str(request.META.get("REMOTE_ADDR", "")) if request is not None else ""


class VerifiedEmailStage(EmailVerificationStage):
    """allauth's mandatory verification, for accounts that have an address on record."""

    def handle(self) -> tuple[Any, bool]:
        if not EmailAddress.objects.filter(user_id=self.login.user.pk).exists():
            return None, True
        result: tuple[Any, bool] = super().handle()
        return result


class PortalAccountAdapter(DefaultAccountAdapter):
    def get_login_stages(self) -> list[str]:
        stock = "allauth.account.stages.EmailVerificationStage"
        ours = f"{__name__}.VerifiedEmailStage"
        return [ours if path == stock else path for path in super().get_login_stages()]

    def save_user(
        self, request: HttpRequest, user: AbstractBaseUser, form: BaseForm, commit: bool = True
    ) -> AbstractBaseUser:
        if not commit:
            saved: AbstractBaseUser = super().save_user(request, user, form, commit=False)
            return saved
        # The account and its audit row commit together.
        with transaction.atomic():
            saved = super().save_user(request, user, form, commit=True)
            assert isinstance(saved, User)
            tenancy.record_signed_up(saved, source=client_address(request))
        return saved


class PortalLoginForm(LoginForm):
    """allauth's login form with its `login` field named `username`, as the portal's form
    (and password managers, scripts and django-axes' default field) always had it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: dict[str, Any] = self.fields  # type: ignore[has-type]
        field = fields.pop("login")
        field.label = "Username or email"
        field.widget.attrs.update({"autocomplete": "username", "autofocus": True})
        self.fields = {"username": field, **fields}

    def clean_username(self) -> str:
        value = str(self.cleaned_data["username"]).strip()
        self.cleaned_data["login"] = value  # where allauth's own methods read it
        return value


class PortalResetPasswordKeyForm(ResetPasswordKeyForm):
    """The new password and its audit row commit together."""

    def save(self) -> None:
        with transaction.atomic():
            super().save()
            tenancy.record_password_reset(self.user, source=client_address(context.request))


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The name django-axes locks: what was typed, or, for an email address that belongs to
    exactly one account, that account's user name (so both spellings share one count)."""
    typed = (credentials or {}).get("username") or request.POST.get("username")
    if not typed:
        return None
    typed = str(typed).strip()
    if "@" in typed:
        owners = list(
            EmailAddress.objects.filter(email__iexact=typed).values_list(
                "user__username", flat=True
            )[:2]
        )
        if len(owners) == 1:
            return str(owners[0])
    return typed
