"""Self-service organizations in tenancy's services: founding one, invitations (invite →
accept, expired, tampered, wrong address, revoked, used, a failed delivery), members (role
changes, removal, leaving, ownership transfer, the last owner), each change's audit row, and
a role change or removal reaching the member's API key on its very next call."""

from __future__ import annotations

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import User
from django.utils import timezone

from dojocloud.audit.facade import AuditEvent
from dojocloud.common.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from dojocloud.tenancy import invitations
from dojocloud.tenancy.invitations import InvitationUnusable
from dojocloud.tenancy.members import (
    change_role,
    create_own_organization,
    leave,
    members_of,
    remove_member,
    transfer_ownership,
)
from dojocloud.tenancy.models import Invitation, Membership, Organization, Role
from dojocloud.tenancy.operators import seed_operators
from dojocloud.tenancy.permissions import Action, Principal, allows, require
from dojocloud.tenancy.services import (
    add_member,
    authenticate_api_key,
    create_api_key,
    principal_for_user,
    revoke_api_key,
)

pytestmark = pytest.mark.django_db
SRC = "203.0.113.7"


def user(name: str, *, verified: bool = True) -> User:
    u = User.objects.create_user(name, f"{name}@example.com")
    EmailAddress.objects.create(user=u, email=u.email, verified=verified, primary=True)
    return u


@pytest.fixture
def acme() -> Organization:
    return create_own_organization(user("alice"), slug="acme", name="Acme", source=SRC)


def p(name: str, org: str = "acme") -> Principal:
    return principal_for_user(User.objects.get(username=name), org)


def member(org: Organization, name: str, role: str) -> Membership:
    u = User.objects.filter(username=name).first() or user(name)
    return add_member(org, u, role)


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def invite(by: str, email: str, role: str = Role.MEMBER) -> tuple[Invitation, str]:
    sent: list[str] = []
    inv = invitations.invite(
        p(by), email=email, role=role, source=SRC, deliver=lambda i, t: sent.append(t)
    )
    return inv, sent[0]


# -- organizations ---------------------------------------------------------------------------


def test_the_founder_owns_the_new_organization_and_it_is_audited(acme: Organization) -> None:
    assert p("alice").role == Role.OWNER
    (row,) = events("organization.created")
    assert (row.organization_id, row.actor, row.source) == (acme.pk, "alice", SRC)
    assert row.after == {"slug": "acme", "name": "Acme", "owner": "alice"}


@pytest.mark.parametrize(
    ("slug", "says"),
    [
        ("A", "lowercase letters"),
        ("-acme", "lowercase letters"),
        ("ac", "3 to 63"),
        ("x" * 64, "3 to 63"),
        ("operators", "reserved for the platform's operators"),
        ("acme", "is taken"),
    ],
)
def test_a_bad_slug_is_refused_naming_the_rule(acme: Organization, slug: str, says: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        create_own_organization(user("bob"), slug=slug, name="B", source=SRC)
    assert err.value.violations[0].field == "slug" and says in err.value.message
    assert not Membership.objects.filter(user__username="bob").exists()


# -- invitations -----------------------------------------------------------------------------


def test_invite_then_accept_makes_a_member_with_the_invited_role(acme: Organization) -> None:
    inv, token = invite("alice", "Vic@Example.com", Role.VIEWER)
    vic = user("vic")  # signed up with vic@example.com: the address matches without case
    membership = invitations.accept(vic, token, source=SRC)
    assert (membership.organization, membership.role) == (acme, Role.VIEWER)
    inv.refresh_from_db()
    assert inv.accepted_by == vic and inv.status == "accepted"
    created, accepted, added = (
        events("invitation.created"),
        events("invitation.accepted"),
        events("member.added"),
    )
    assert created[0].after["email"] == "Vic@Example.com" and created[0].actor == "alice"
    assert accepted[0].actor == "vic" and added[0].target == "user:vic"
    # The token is in no row: not as a value, not inside one.
    for row in AuditEvent.objects.all():
        assert token not in f"{row.target}{row.before}{row.after}"
    with pytest.raises(InvitationUnusable) as err:  # works once
        invitations.accept(vic, token, source=SRC)
    assert err.value.reason == "accepted"


def test_an_expired_invitation_is_refused(acme: Organization, settings) -> None:
    inv, token = invite("alice", "vic@example.com")
    Invitation.objects.filter(id=inv.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(InvitationUnusable) as err:
        invitations.accept(user("vic"), token, source=SRC)
    assert err.value.reason == "expired" and "expired" in err.value.message
    assert not Membership.objects.filter(user__username="vic").exists()


def test_the_signed_token_expires_by_itself_too(acme: Organization, settings) -> None:
    _, token = invite("alice", "vic@example.com")
    settings.INVITATION_EXPIRY_DAYS = 0  # max_age 0: the token's own timestamp is past it
    with pytest.raises(InvitationUnusable) as err:
        invitations.resolve(token)
    assert err.value.reason == "expired"


@pytest.mark.parametrize("mangle", [lambda t: t[:-2] + "xx", lambda t: "nonsense", lambda t: ""])
def test_a_tampered_token_is_not_an_invitation(acme: Organization, mangle) -> None:
    _, token = invite("alice", "vic@example.com")
    with pytest.raises(InvitationUnusable) as err:
        invitations.resolve(mangle(token))
    assert err.value.reason == "invalid"


def test_another_account_cannot_accept_and_the_invitation_stays(acme: Organization) -> None:
    inv, token = invite("alice", "vic@example.com")
    with pytest.raises(PermissionDenied) as err:
        invitations.accept(user("mallory"), token, source=SRC)
    assert "for vic@example.com" in err.value.message and "mallory@example.com" in err.value.message
    unverified = User.objects.create_user("vic2", "vic@example.com")
    EmailAddress.objects.create(user=unverified, email="vic@example.com", verified=False)
    with pytest.raises(PermissionDenied):  # the address must be verified
        invitations.accept(unverified, token, source=SRC)
    inv.refresh_from_db()
    assert inv.status == "pending" and not events("invitation.accepted")


def test_a_revoked_invitation_is_refused(acme: Organization) -> None:
    inv, token = invite("alice", "vic@example.com")
    invitations.revoke(p("alice"), inv.id, source=SRC)
    with pytest.raises(InvitationUnusable) as err:
        invitations.accept(user("vic"), token, source=SRC)
    assert err.value.reason == "revoked"
    (row,) = events("invitation.revoked")
    assert row.before == {"email": "vic@example.com", "role": "member"}
    with pytest.raises(FailedPrecondition):
        invitations.revoke(p("alice"), inv.id, source=SRC)
    assert invitations.pending_invitations(p("alice")) == []


def test_a_failed_delivery_leaves_no_invitation(acme: Organization) -> None:
    def refuse(inv: Invitation, token: str) -> None:
        raise ConnectionRefusedError("smtp down")

    with pytest.raises(ConnectionRefusedError):
        invitations.invite(
            p("alice"), email="vic@example.com", role="member", source=SRC, deliver=refuse
        )
    assert not Invitation.objects.exists() and not events("invitation.created")


def test_who_may_invite_whom(acme: Organization) -> None:
    member(acme, "adam", Role.ADMIN)
    member(acme, "mia", Role.MEMBER)
    with pytest.raises(PermissionDenied):
        invite("mia", "x@example.com")
    with pytest.raises(PermissionDenied):
        invite("adam", "x@example.com", Role.OWNER)  # owners invite owners
    invite("adam", "x@example.com", Role.ADMIN)
    invite("alice", "y@example.com", Role.OWNER)
    with pytest.raises(FailedPrecondition, match="already has a pending invitation"):
        invite("alice", "X@example.com")
    with pytest.raises(FailedPrecondition, match="already a member"):
        invite("alice", "mia@example.com")
    with pytest.raises(InvalidArgument, match="email"):
        invite("alice", "not-an-address")


def test_another_tenants_invitation_does_not_exist(acme: Organization) -> None:
    inv, _ = invite("alice", "vic@example.com")
    create_own_organization(user("bob"), slug="globex", name="Globex", source=SRC)
    with pytest.raises(NotFound):
        invitations.revoke(p("bob", "globex"), inv.id, source=SRC)


# -- members ---------------------------------------------------------------------------------


def test_the_last_owner_cannot_leave_be_demoted_or_removed(acme: Organization) -> None:
    alice = Membership.objects.get(user__username="alice")
    member(acme, "adam", Role.ADMIN)
    with pytest.raises(FailedPrecondition, match="last owner of 'acme' and cannot leave"):
        leave(p("alice"), source=SRC)
    with pytest.raises(FailedPrecondition, match="cannot be demoted"):
        change_role(p("alice"), alice.id, Role.ADMIN, source=SRC)
    with pytest.raises(FailedPrecondition, match="cannot leave"):  # removing oneself is leaving
        remove_member(p("alice"), alice.id, source=SRC)
    assert Membership.objects.get(id=alice.id).role == Role.OWNER
    # With a second owner, she may.
    change_role(
        p("alice"), Membership.objects.get(user__username="adam").id, Role.OWNER, source=SRC
    )
    leave(p("alice"), source=SRC)
    assert not Membership.objects.filter(id=alice.id).exists()
    assert [e.target for e in events("member.left")] == ["user:alice"]


def test_admins_manage_members_but_not_owners(acme: Organization) -> None:
    adam = member(acme, "adam", Role.ADMIN)
    mia = member(acme, "mia", Role.MEMBER)
    alice = Membership.objects.get(user__username="alice")
    change_role(p("adam"), mia.id, Role.VIEWER, source=SRC)
    for attempt in (
        lambda: change_role(p("adam"), alice.id, Role.ADMIN, source=SRC),
        lambda: change_role(p("adam"), mia.id, Role.OWNER, source=SRC),
        lambda: remove_member(p("adam"), alice.id, source=SRC),
        lambda: transfer_ownership(p("adam"), mia.id, source=SRC),
        lambda: change_role(p("mia"), adam.id, Role.VIEWER, source=SRC),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    (row,) = events("member.role_changed")
    assert (row.actor, row.target, row.before, row.after) == (
        "adam",
        "user:mia",
        {"role": "member"},
        {"role": "viewer"},
    )
    remove_member(p("adam"), mia.id, source=SRC)
    assert events("member.removed")[0].before == {"role": "viewer"}
    rows = {r.username: r for r in members_of(p("adam"))}
    assert rows["alice"].assignable_roles == () and not rows["alice"].can_remove
    assert rows["adam"].is_you and not rows["adam"].can_remove


def test_transfer_ownership_swaps_the_roles(acme: Organization) -> None:
    mia = member(acme, "mia", Role.MEMBER)
    transfer_ownership(p("alice"), mia.id, source=SRC)
    assert (p("alice").role, p("mia").role) == (Role.ADMIN, Role.OWNER)
    (row,) = events("ownership.transferred")
    assert row.after == {"owner": "mia", "alice": "admin"}
    with pytest.raises(PermissionDenied):  # alice is an admin now
        transfer_ownership(p("alice"), mia.id, source=SRC)


def test_a_role_change_reaches_the_members_api_key_on_its_next_call(acme: Organization) -> None:
    mia = member(acme, "mia", Role.MEMBER)
    _, raw = create_api_key(p("mia"), name="ci")
    assert allows(authenticate_api_key(raw), Action.JOBS_SUBMIT)
    change_role(p("alice"), mia.id, Role.VIEWER, source=SRC)
    key = authenticate_api_key(raw)
    assert key.role == Role.VIEWER
    with pytest.raises(PermissionDenied, match="role 'viewer'"):
        require(key, Action.JOBS_SUBMIT)
    remove_member(p("alice"), mia.id, source=SRC)
    with pytest.raises(Unauthenticated, match="no longer a member"):
        authenticate_api_key(raw)


def test_a_left_members_key_stops(acme: Organization) -> None:
    member(acme, "mia", Role.MEMBER)
    _, raw = create_api_key(p("mia"), name="ci")
    leave(p("mia"), source=SRC)
    with pytest.raises(Unauthenticated):
        authenticate_api_key(raw)


# -- the operators' organization -------------------------------------------------------------


def test_seed_operators_makes_the_org_the_operator_and_a_working_key(settings, tmp_path) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    env = tmp_path / "operator.env"
    seed = seed_operators(password="pw", env_file=env, server="127.0.0.1:1")
    assert seed.organization.slug == settings.OPERATOR_ORG and seed.operator.is_staff
    assert not seed.operator.is_superuser
    assert env.read_text() == (
        f"export DOJO_SERVER=127.0.0.1:1\nexport DOJO_API_KEY={seed.raw_key}\n"
    )
    assert env.stat().st_mode & 0o777 == 0o600
    principal = authenticate_api_key(seed.raw_key or "")
    assert allows(principal, Action.OPERATOR_ACT)
    # A rerun reuses the key in the file; a revoked one is replaced.
    again = seed_operators(password="pw", env_file=env, server="127.0.0.1:1")
    assert again.raw_key is None and seed.raw_key in env.read_text()
    revoke_api_key(
        principal_for_user(seed.operator, settings.OPERATOR_ORG), principal.api_key_id or 0
    )
    rotated = seed_operators(password="pw", env_file=env, server="127.0.0.1:1")
    assert rotated.raw_key and rotated.raw_key != seed.raw_key
    assert rotated.raw_key in env.read_text()
    assert Organization.objects.filter(slug=settings.OPERATOR_ORG).count() == 1
