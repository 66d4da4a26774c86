"""API keys (hashed, shown once, revocable) and roles."""

from __future__ import annotations

import hashlib

import pytest
from django.contrib.auth.models import AnonymousUser, User

from dojocloud.common.errors import NotFound, PermissionDenied, Unauthenticated
from dojocloud.jobs import services as jobs
from dojocloud.tenancy.models import ApiKey
from dojocloud.tenancy.services import (
    authenticate_api_key,
    create_api_key,
    principal_for_user,
    revoke_api_key,
    revoke_api_keys_as_operator,
)
from tests.support.people import People, make_spec


def test_key_is_stored_hashed_with_a_visible_prefix(people: People) -> None:
    key, raw = create_api_key(people.owner, name="ci")
    assert raw.startswith(f"dojo_{key.prefix}_")
    stored = ApiKey.objects.get(id=key.id)
    assert raw not in (stored.key_hash, stored.prefix, stored.name)
    assert stored.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    principal = authenticate_api_key(raw)
    assert principal.organization == people.acme and principal.api_key_id == key.id
    assert principal.role == "owner" and principal.user == people.owner.user  # its creator
    stored.refresh_from_db()
    assert stored.last_used_at is not None


@pytest.mark.parametrize("bad", ["", "nonsense", "dojo_deadbeef_wrong", "dojo__x"])
def test_bad_keys_are_unauthenticated(people: People, bad: str) -> None:
    create_api_key(people.owner, name="ci")
    with pytest.raises(Unauthenticated):
        authenticate_api_key(bad)


def test_a_right_prefix_with_a_wrong_secret_fails(people: People) -> None:
    _, raw = create_api_key(people.owner, name="ci")
    with pytest.raises(Unauthenticated):
        authenticate_api_key(raw[:-2] + ("xx" if not raw.endswith("xx") else "yy"))


def test_revoked_key_stops_working(people: People) -> None:
    key, raw = create_api_key(people.member, name="laptop")
    revoke_api_key(people.owner, key.id)
    with pytest.raises(Unauthenticated):
        authenticate_api_key(raw)


def test_outsider_cannot_revoke_another_orgs_key(people: People) -> None:
    key, raw = create_api_key(people.owner, name="ci")
    with pytest.raises(NotFound):
        revoke_api_key(people.outsider, key.id)
    assert authenticate_api_key(raw).organization == people.acme


def test_operators_revoke_keys_of_any_organization_once(people: People) -> None:
    ours, raw = create_api_key(people.owner, name="ci")
    theirs, _ = create_api_key(people.outsider, name="ci")
    for not_staff in (people.owner.user, User(username="gone", is_staff=True, is_active=False)):
        assert not_staff is not None
        with pytest.raises(PermissionDenied):
            revoke_api_keys_as_operator(not_staff, [ours.id])
    ops = User.objects.create_user("ops", is_staff=True)
    assert revoke_api_keys_as_operator(ops, [ours.id, theirs.id]) == 2
    first = ApiKey.objects.get(id=ours.id).revoked_at
    assert revoke_api_keys_as_operator(ops, [ours.id]) == 0  # the first time is kept
    assert ApiKey.objects.get(id=ours.id).revoked_at == first
    with pytest.raises(Unauthenticated):
        authenticate_api_key(raw)


def test_viewer_cannot_create_or_cancel_jobs(people: People) -> None:
    with pytest.raises(PermissionDenied):
        jobs.create_job(people.viewer, make_spec())
    job = jobs.create_job(people.member, make_spec())
    with pytest.raises(PermissionDenied):
        jobs.cancel_job(people.viewer, job.id)
    assert jobs.get_job(people.viewer, job.id).state == "QUEUED"


def test_a_viewers_key_can_read_only(people: People) -> None:
    _, raw = create_api_key(people.viewer, name="dash")
    principal = authenticate_api_key(raw)
    assert principal.role == "viewer"
    with pytest.raises(PermissionDenied):
        jobs.create_job(principal, make_spec())


def test_principal_for_user_needs_a_membership(people: People) -> None:
    assert principal_for_user(people.owner.user, "acme").role == "owner"
    with pytest.raises(PermissionDenied):
        principal_for_user(people.owner.user, "other")
    with pytest.raises(PermissionDenied):
        principal_for_user(User.objects.create_user("nobody"))
    with pytest.raises(PermissionDenied):
        principal_for_user(AnonymousUser())
