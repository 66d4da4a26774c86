"""Endpoint secrets at rest: sealed with Fernet (AES-128-CBC + HMAC-SHA256) under a key
derived from Django's SECRET_KEY with HKDF-SHA256 and a purpose of its own, so the database
alone (a dump, a replica, a backup) does not yield a secret that signs deliveries. The
platform must read the secret back to sign, so it cannot be a hash as API keys are.
Rotating SECRET_KEY makes the sealed secrets unreadable: endpoints must then be re-added
(their deliveries fail with that reason, never with a wrong signature)."""

from __future__ import annotations

import base64
import secrets

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

PREFIX = "whsec_"
_PURPOSE = b"dojocloud.webhooks.endpoint-secret.v1"


class Unsealable(RuntimeError):
    """A sealed secret that this SECRET_KEY cannot open (the key was rotated)."""


def _fernet() -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(
        settings.SECRET_KEY.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def hint(secret: str) -> str:
    return secret[: len(PREFIX) + 4]


def seal(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def unseal(sealed: str) -> str:
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken as exc:
        raise Unsealable("the endpoint's secret was sealed under another SECRET_KEY") from exc
