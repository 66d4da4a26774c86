"""Which endpoint URLs are accepted: HTTPS only; plain HTTP only to a loopback host and only
where settings.WEBHOOK_ALLOW_LOOPBACK_HTTP is on (a receiver on the developer's machine, the
tests). No credentials in the URL (they would be shown on every page). Pure but for the
setting."""

from __future__ import annotations

import ipaddress
import urllib.parse

from django.conf import settings

from dojocloud.common.errors import FieldViolation

MAX_URL = 2000
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_violations(url: str, field: str = "url") -> list[FieldViolation]:
    if not url or len(url) > MAX_URL:
        return [FieldViolation(field, f"must be an https:// URL of at most {MAX_URL} characters")]
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError as exc:
        return [FieldViolation(field, f"is not a URL: {exc}")]
    host = parts.hostname or ""
    if not host:
        return [FieldViolation(field, "has no host")]
    if parts.username or parts.password:
        return [FieldViolation(field, "must not carry a user name or password")]
    if parts.scheme == "https":
        return []
    if parts.scheme == "http" and _is_loopback(host):
        if settings.WEBHOOK_ALLOW_LOOPBACK_HTTP:
            return []
        return [
            FieldViolation(field, "must be https:// (http:// to loopback is off on this server)")
        ]
    return [FieldViolation(field, "must be https:// (plain http:// only to a loopback host)")]
