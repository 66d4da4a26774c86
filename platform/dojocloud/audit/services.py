"""Writing and reading the audit trail.

`record` is called by the service that makes the change, inside its transaction, so a
change and its row commit together or not at all. It never stores a secret: values under
secret-like keys, and anything shaped like an API key, are replaced before the row is written.
"""

from __future__ import annotations

import base64
import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q
from django.utils import timezone

from dojocloud.audit.events import AuditAction
from dojocloud.audit.models import AuditEvent
from dojocloud.common.errors import FieldViolation, InvalidArgument

REDACTED = "[redacted]"
_SECRET_KEYS = re.compile(r"secret|password|passwd|token|key_hash|raw_key|credential", re.I)
# An API key as tenancy makes them: dojo_<prefix>_<secret>.
_API_KEY = re.compile(r"dojo_[A-Za-z0-9]+_[A-Za-z0-9_\-]{16,}")
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100


@dataclass(frozen=True)
class Actor:
    """Who made a change: a user (portal, or the creator behind an API key), shown by
    `label` ("alice", "key dojo_ab12cd34 (alice)", "system"), and from where."""

    label: str
    user_id: int | None = None
    source: str = ""  # the client's IP address or gRPC peer

    @classmethod
    def system(cls) -> Actor:
        return cls(label="system")

    @classmethod
    def for_user(cls, user: User | None, source: str = "") -> Actor:
        if user is None or not user.is_authenticated:
            return cls(label="anonymous", source=source)
        return cls(label=user.get_username(), user_id=user.pk, source=source)


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    org_slug: str
    actor: str
    source: str
    action: str
    target: str
    before: Any
    after: Any


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    next_page_token: str  # "" on the last page


@dataclass(frozen=True)
class AuditFilter:
    organization_id: int | None = None  # None: every organization (operators only)
    action: str = ""  # exact name, or a prefix ending in "." ("member.")
    actor: str = ""  # substring of the actor label
    since: datetime | None = None
    until: datetime | None = None
    # With an organization: also this user's own account rows (no organization: their
    # sign-up, sign-ins), never another member's.
    account_of: int | None = None


def scrub(value: Any) -> Any:
    """`value` with secrets replaced: by key name at any depth, and API-key-shaped text."""
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if _SECRET_KEYS.search(str(k)) else scrub(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        return _API_KEY.sub(REDACTED, value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub(str(value))


def record(
    action: AuditAction,
    *,
    actor: Actor,
    org_slug: str = "",
    target: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    organization_id: int | None = None,
) -> AuditEvent:
    """Append one row. Without an organization it is a fleet- or account-level event, which
    operators see. Pass both the organization's id and slug (the slug stays readable after
    the organization is gone)."""
    return AuditEvent.objects.create(
        at=timezone.now(),
        organization_id=organization_id,
        org_slug=org_slug,
        actor_user_id=actor.user_id,
        actor=scrub(actor.label)[:200],
        source=actor.source[:200],
        action=str(action),
        target=scrub(target)[:300],
        before=scrub(before) if before is not None else None,
        after=scrub(after) if after is not None else None,
    )


def _row(e: AuditEvent) -> AuditRow:
    return AuditRow(
        id=e.pk,
        at=e.at,
        org_slug=e.org_slug,
        actor=e.actor,
        source=e.source,
        action=e.action,
        target=e.target,
        before=e.before,
        after=e.after,
    )


def _encode_token(at: datetime, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{pk}".encode()).decode()


def _decode_token(token: str) -> tuple[datetime, int]:
    try:
        at_text, pk_text = base64.urlsafe_b64decode(token.encode()).decode().split("|")
        return datetime.fromisoformat(at_text), int(pk_text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument([FieldViolation("page_token", "not a token from this list")]) from exc


def list_events(
    flt: AuditFilter, *, page_size: int = DEFAULT_PAGE_SIZE, page_token: str = ""
) -> AuditPage:
    """Newest first, keyset-paged (a token is the last row's time and id). The caller has
    checked who may read `flt.organization_id` (tenancy's permission table, in the adapters)."""
    if not 0 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidArgument(
            [FieldViolation("page_size", f"must be between 0 and {MAX_PAGE_SIZE}")]
        )
    size = page_size or DEFAULT_PAGE_SIZE
    qs = _filtered(flt)
    if page_token:
        at, pk = _decode_token(page_token)
        qs = qs.filter(Q(at__lt=at) | Q(at=at, id__lt=pk))
    events = list(qs.order_by("-at", "-id")[: size + 1])
    rows = [_row(e) for e in events[:size]]
    token = _encode_token(events[size - 1].at, events[size - 1].pk) if len(events) > size else ""
    return AuditPage(rows=rows, next_page_token=token)


def iter_events(flt: AuditFilter) -> Iterable[AuditRow]:
    """Every matching row, newest first, read in chunks (for the CSV export)."""
    for e in _filtered(flt).order_by("-at", "-id").iterator(chunk_size=500):
        yield _row(e)


CSV_COLUMNS = ("time", "organization", "actor", "source", "action", "target", "before", "after")


def csv_lines(rows: Iterable[AuditRow]) -> Iterable[str]:
    """The export, one CSV line at a time (a streaming response can send it as it goes)."""
    import json

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    yield buf.getvalue()
    for r in rows:
        buf.seek(0)
        buf.truncate()
        writer.writerow(
            [
                r.at.isoformat(),
                r.org_slug,
                r.actor,
                r.source,
                r.action,
                r.target,
                "" if r.before is None else json.dumps(r.before, sort_keys=True),
                "" if r.after is None else json.dumps(r.after, sort_keys=True),
            ]
        )
        yield buf.getvalue()


MAX_ACTOR_FILTER = 200


def check_filter(flt: AuditFilter) -> None:
    """InvalidArgument naming every bad field: an action that is no event's name nor a
    prefix of one ending in ".", an over-long actor, a range that ends before it starts."""
    bad: list[FieldViolation] = []
    names = [str(a) for a in AuditAction]
    if flt.action and not (
        flt.action in names
        or (flt.action.endswith(".") and any(n.startswith(flt.action) for n in names))
    ):
        prefixes = sorted({n.split(".")[0] + "." for n in names if "." in n})
        bad.append(
            FieldViolation(
                "action",
                f"{flt.action[:64]!r} is no event: name one ({', '.join(names[:3])}, ...) "
                f"or a prefix: {', '.join(prefixes)}",
            )
        )
    if len(flt.actor) > MAX_ACTOR_FILTER:
        bad.append(FieldViolation("actor", f"at most {MAX_ACTOR_FILTER} characters"))
    if flt.since is not None and flt.until is not None and flt.until <= flt.since:
        bad.append(FieldViolation("until", "must be after since"))
    if bad:
        raise InvalidArgument(bad)


def _filtered(flt: AuditFilter) -> Any:
    check_filter(flt)
    qs = AuditEvent.objects.all()
    if flt.organization_id is not None:
        # By id, not slug: a new organization that reuses a deleted one's slug sees nothing
        # of it (the deleted one's rows keep their slug, and a null organization).
        mine = Q(organization_id=flt.organization_id)
        if flt.account_of is not None:
            mine |= Q(organization__isnull=True, actor_user_id=flt.account_of)
        qs = qs.filter(mine)
    if flt.action:
        qs = (
            qs.filter(action__startswith=flt.action)
            if flt.action.endswith(".")
            else qs.filter(action=flt.action)
        )
    if flt.actor:
        qs = qs.filter(actor__icontains=flt.actor)
    if flt.since is not None:
        qs = qs.filter(at__gte=flt.since)
    if flt.until is not None:
        qs = qs.filter(at__lt=flt.until)
    return qs
