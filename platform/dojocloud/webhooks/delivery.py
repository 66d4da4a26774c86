"""Sending one delivery: claim it with a conditional update, sign it, POST it, record what
came back, and say when to try again.

An attempt is taken by moving `attempts` from n to n+1 while the row is pending and due
(UPDATE ... WHERE attempts = n): zero rows means another worker took it. A claimed attempt
pushes `next_attempt_at` a lease ahead, so one whose worker died is retried after the lease.
A 2xx answer is success; anything else (another status, a redirect, no answer) is retried
after WEBHOOK_BACKOFF_S x 2^(n-1) seconds until WEBHOOK_MAX_ATTEMPTS, then the delivery
has failed. Each attempt keeps its status code and the first bytes of the answer."""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dojo.webhooks import HEADER, signature_header
from dojocloud.common import metrics
from dojocloud.webhooks import sealing
from dojocloud.webhooks.models import Attempt, Delivery, DeliveryStatus

log = logging.getLogger(__name__)
EXCERPT_BYTES = 1024  # of a response body kept per attempt
MAX_BACKOFF_S = 6 * 3600.0
USER_AGENT = "DojoCloud-Webhooks/1"
OVERDUE_GRACE_S = 30.0  # the sweeper leaves a delivery this long to its own retry message


@dataclass(frozen=True)
class Response:
    code: int | None  # None: no HTTP answer (refused, timed out, TLS failure)
    excerpt: str
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.code is not None and 200 <= self.code < 300


Send = Callable[[str, bytes, Mapping[str, str], float], Response]


def backoff_s(attempts: int, base: float, cap: float = MAX_BACKOFF_S) -> float:
    """The wait after the `attempts`-th failed attempt: base, 2 base, 4 base ... at most cap."""
    return float(min(cap, base * 2 ** (attempts - 1)))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a new destination: a signed body is never re-posted
    to a URL the organization did not register."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> Response:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects)
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    started = time.monotonic()
    code: int | None = None
    raw, error = b"", ""
    try:
        with opener.open(request, timeout=timeout) as resp:
            code, raw = int(resp.status), resp.read(EXCERPT_BYTES)
    except urllib.error.HTTPError as exc:
        code, raw = exc.code, exc.read(EXCERPT_BYTES)
        error = f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        error = str(getattr(exc, "reason", exc))[:300]
    elapsed = int((time.monotonic() - started) * 1000)
    return Response(code, raw.decode("utf-8", "replace"), error, elapsed)


def _claim(delivery_id: int, now: datetime) -> Delivery | None:
    row = (
        Delivery.objects.filter(
            id=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        )
        .select_related("endpoint__organization")
        .first()
    )
    if row is None:
        return None
    lease = now + timedelta(seconds=2 * settings.WEBHOOK_TIMEOUT_S + 30)
    taken = Delivery.objects.filter(
        id=row.id, status=DeliveryStatus.PENDING, attempts=row.attempts
    ).update(attempts=row.attempts + 1, last_attempt_at=now, next_attempt_at=lease)
    if not taken:
        return None
    row.attempts += 1
    return row


def headers_for(delivery: Delivery, secret: str, at: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        HEADER: signature_header(secret, at, delivery.body.encode()),
        "Dojo-Event": delivery.event_type,
        "Dojo-Delivery": delivery.uid.hex,
        "Dojo-Event-Id": delivery.event_id,
    }


def attempt(delivery_id: int, *, now: datetime | None = None, send: Send = post) -> float | None:
    """Tries a due delivery once. Returns the seconds until its retry, or None when there is
    none to make (it succeeded, it gave up, it was not due, another worker took it)."""
    now = now or timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return None
    try:
        secret = sealing.unseal(delivery.endpoint.secret_sealed)
    except sealing.Unsealable as exc:
        response = Response(None, "", str(exc), 0)
    else:
        headers = headers_for(delivery, secret, int(time.time()))
        response = send(
            delivery.endpoint.url, delivery.body.encode(), headers, settings.WEBHOOK_TIMEOUT_S
        )
    retry = None
    if not response.ok and delivery.attempts < settings.WEBHOOK_MAX_ATTEMPTS:
        retry = backoff_s(delivery.attempts, settings.WEBHOOK_BACKOFF_S)
    _record(delivery, response, retry, now)
    return retry


def _record(delivery: Delivery, response: Response, retry: float | None, now: datetime) -> None:
    if response.ok:
        status = DeliveryStatus.SUCCEEDED
    else:
        status = DeliveryStatus.PENDING if retry is not None else DeliveryStatus.FAILED
    with transaction.atomic():
        Delivery.objects.filter(id=delivery.id, attempts=delivery.attempts).update(
            status=status,
            response_code=response.code,
            response_excerpt=response.excerpt,
            error=response.error[:300],
            duration_ms=response.duration_ms,
            next_attempt_at=now + timedelta(seconds=retry) if retry is not None else None,
        )
        Attempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            at=now,
            response_code=response.code,
            response_excerpt=response.excerpt,
            error=response.error[:300],
            duration_ms=response.duration_ms,
            retry_in_s=retry,
        )
    org = delivery.endpoint.organization.slug
    result = "ok" if response.ok else ("retry" if retry is not None else "failed")
    transaction.on_commit(lambda: metrics.WEBHOOK_ATTEMPTS.labels(org, result).inc())
    if not response.ok:
        log.info(
            "webhook delivery %s to %s: %s (attempt %d)",
            delivery.uid.hex,
            delivery.endpoint.url,
            response.error or response.code,
            delivery.attempts,
        )


def overdue_ids(now: datetime | None = None, limit: int = 500) -> list[int]:
    """Pending deliveries past due by more than the grace: their message was lost."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=OVERDUE_GRACE_S)
    return list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=cutoff)
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )
