"""The audit trail's core: rows are append-only, secrets never land, pages are stable and
one organization's rows are not another's (by id, even when a slug is reused)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from dojocloud.audit.facade import (
    REDACTED,
    Actor,
    AppendOnlyError,
    AuditAction,
    AuditEvent,
    AuditFilter,
    csv_lines,
    iter_events,
    list_events,
    record,
)
from dojocloud.common.errors import InvalidArgument
from dojocloud.tenancy.models import Organization

pytestmark = pytest.mark.django_db


def _org(slug: str) -> Organization:
    return Organization.objects.create(slug=slug, name=slug)


def test_rows_cannot_be_changed_or_deleted() -> None:
    row = record(AuditAction.KEY_CREATED, actor=Actor.system(), target="k")
    row.target = "other"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=row.pk).update(target="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=row.pk).target == "k"


def test_secrets_are_scrubbed_by_key_and_by_shape() -> None:
    raw = "dojo_ab12cd34_" + "x" * 43
    row = record(
        AuditAction.KEY_CREATED,
        actor=Actor(label=f"key {raw}", source="ipv4:127.0.0.1:5"),
        target=raw,
        after={"name": "ci", "secret": "s3", "nested": {"password": "p", "note": f"was {raw}"}},
    )
    row.refresh_from_db()
    assert raw not in f"{row.actor}{row.target}{row.after}"
    assert row.after == {
        "name": "ci",
        "secret": REDACTED,
        "nested": {"password": REDACTED, "note": f"was {REDACTED}"},
    }


def test_pages_are_newest_first_and_cover_everything_once() -> None:
    org = _org("acme")
    base = timezone.now()
    for i in range(7):
        AuditEvent.objects.create(
            at=base - timedelta(seconds=i // 2),  # ties on time: the id breaks them
            organization=org,
            org_slug="acme",
            actor="alice",
            action=str(AuditAction.MEMBER_ADDED),
            target=f"user{i}",
        )
    seen: list[str] = []
    token = ""
    while True:
        page = list_events(AuditFilter(organization_id=org.pk), page_size=3, page_token=token)
        seen += [r.target for r in page.rows]
        token = page.next_page_token
        if not token:
            break
    assert sorted(seen) == sorted(f"user{i}" for i in range(7))
    assert len(seen) == 7
    with pytest.raises(InvalidArgument, match="page_token"):
        list_events(AuditFilter(), page_token="garbage!")
    with pytest.raises(InvalidArgument, match="page_size"):
        list_events(AuditFilter(), page_size=10_000)


def test_an_organization_sees_only_its_own_rows_even_after_slug_reuse() -> None:
    old = _org("reused")
    record(
        AuditAction.MEMBER_ADDED,
        actor=Actor.system(),
        org_slug="reused",
        organization_id=old.pk,
        target="old",
    )
    old.delete()
    new = _org("reused")
    record(
        AuditAction.MEMBER_ADDED,
        actor=Actor.system(),
        org_slug="reused",
        organization_id=new.pk,
        target="new",
    )
    mine = list_events(AuditFilter(organization_id=new.pk)).rows
    assert [r.target for r in mine] == ["new"]
    assert {r.target for r in list_events(AuditFilter()).rows} == {"old", "new"}


def test_filters_and_csv() -> None:
    user = User.objects.create_user("alice")
    record(AuditAction.MEMBER_ADDED, actor=Actor.for_user(user, "10.0.0.1"), target="bob")
    record(AuditAction.MEMBER_REMOVED, actor=Actor.for_user(user), target="bob")
    record(AuditAction.KEY_REVOKED, actor=Actor.system(), target="k")
    assert {r.action for r in list_events(AuditFilter(action="member.")).rows} == {
        "member.added",
        "member.removed",
    }
    assert [r.action for r in list_events(AuditFilter(action="key.revoked")).rows] == [
        "key.revoked"
    ]
    assert {r.actor for r in list_events(AuditFilter(actor="ALI")).rows} == {"alice"}
    text = "".join(csv_lines(iter_events(AuditFilter(actor="alice"))))
    lines = text.strip().splitlines()
    assert lines[0].startswith("time,organization,actor,source,action")
    assert len(lines) == 3 and "10.0.0.1" in text
