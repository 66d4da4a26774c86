"""The self-service pages through the Django test client, with the email Django's locmem
backend keeps (pytest-django's test setup uses it): sign-up → the verification link in the
email → sign-in by user name or email; password reset by the emailed link; founding an
organization; the Members page (invite with the emailed link, accept, every error page,
role change, removal, leaving, transfer, the last owner); a mail server that refuses."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import User
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from devstack import free_port
from dojocloud.audit.facade import AuditEvent
from dojocloud.tenancy.models import Invitation, Membership, Organization
from dojocloud.tenancy.services import add_member
from tests.integration.portal.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db
LINK = re.compile(r"http://testserver(/\S+)")


@pytest.fixture(autouse=True)
def _fresh_allauth_limits() -> None:
    cache.clear()  # allauth's sign-up and email rate limits count in the (per-process) cache


def link_in(message: mail.EmailMessage) -> str:
    match = LINK.search(str(message.body))
    assert match, message.body
    return match[1]


def sign_up(client: Client, username: str, email: str) -> mail.EmailMessage:
    before = len(mail.outbox)
    response = client.post(
        "/accounts/signup/",
        {"username": username, "email": email, "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == "/accounts/confirm-email/"
    assert len(mail.outbox) == before + 1
    return mail.outbox[-1]


def verify(client: Client, message: mail.EmailMessage) -> None:
    path = link_in(message)
    assert path.startswith("/accounts/confirm-email/")
    page = client.get(path)
    assert page.status_code == 200 and b"Confirm your email" in page.content
    assert client.post(path).status_code == 302


def log_in(client: Client, login: str, password: str = PASSWORD) -> int:
    return client.post("/login/", {"username": login, "password": password}).status_code


def test_sign_up_verify_then_log_in_by_name_or_email() -> None:
    client = Client(REMOTE_ADDR="198.51.100.4")
    message = sign_up(client, "carla", "carla@example.com")
    assert message.to == ["carla@example.com"] and "[Dojo Cloud]" in message.subject
    (row,) = AuditEvent.objects.filter(action="user.signed_up")
    assert (row.actor, row.source, row.target) == ("carla", "198.51.100.4", "user:carla")
    # Not verified yet: the password alone does not sign in; the link is sent again.
    other = Client()
    response = other.post("/login/", {"username": "carla", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    assert "_auth_user_id" not in other.session
    verify(Client(), message)
    assert EmailAddress.objects.get(email="carla@example.com").verified
    assert log_in(Client(), "carla") == 302
    assert log_in(Client(), "CARLA@example.com") == 302
    page = Client()
    page.post("/login/", {"username": "carla@example.com", "password": PASSWORD})
    response = page.get("/jobs/")  # no organization yet: the page says how to make one
    assert response.status_code == 403 and b"Create an organization" in response.content


def test_a_wrong_password_names_no_account() -> None:
    response = Client().post("/login/", {"username": "nobody@example.com", "password": "x"})
    assert response.status_code == 200 and b"not correct" in response.content


def test_password_reset_by_the_emailed_link(alice: User) -> None:
    EmailAddress.objects.create(user=alice, email=alice.email, verified=True, primary=True)
    client = Client(REMOTE_ADDR="198.51.100.9")
    response = client.post("/accounts/password/reset/", {"email": alice.email})
    assert response.status_code == 302
    path = link_in(mail.outbox[-1])
    assert "/accounts/password/reset/key/" in path
    form = client.get(path, follow=True)  # allauth moves the key out of the URL first
    assert b"Choose a new password" in form.content
    new = "a brand new passphrase"
    done = client.post(form.redirect_chain[-1][0], {"password1": new, "password2": new})
    assert done.status_code == 302
    assert log_in(Client(), "alice", new) == 302
    (row,) = AuditEvent.objects.filter(action="password.reset")
    assert (row.actor, row.source) == ("alice", "198.51.100.9")
    assert new not in f"{row.before}{row.after}{row.target}"


def test_create_an_organization(alice: User, alice_client: Client) -> None:
    assert alice_client.get("/orgs/new/").status_code == 200
    bad = alice_client.post("/orgs/new/", {"name": "Two", "slug": "Not A Slug"})
    assert bad.status_code == 400 and b"lowercase letters" in bad.content
    taken = alice_client.post("/orgs/new/", {"name": "Two", "slug": "acme"})
    assert taken.status_code == 400 and b"is taken" in taken.content
    response = alice_client.post("/orgs/new/", {"name": "Initech", "slug": "initech"})
    assert response.status_code == 302 and response["Location"] == "/members/"
    page = alice_client.get("/members/")  # the session now acts for the new organization
    assert b"Members of Initech" in page.content
    assert Membership.objects.get(organization__slug="initech").role == "owner"


def invite(client: Client, email: str, role: str = "member") -> str:
    response = client.post("/members/invite/", {"email": email, "role": role})
    assert response.status_code == 302, response.content.decode()[:3000]
    message = mail.outbox[-1]
    assert message.to == [email] and "acme" in message.body.lower()
    return link_in(message)


def verified_user(name: str) -> User:
    u = make_user(name)
    EmailAddress.objects.create(user=u, email=u.email, verified=True, primary=True)
    return u


def test_invite_by_email_and_accept(alice_client: Client, client_for) -> None:
    path = invite(alice_client, "vic@example.com", "viewer")
    members = alice_client.get("/members/").content.decode()
    assert "vic@example.com" in members and "Pending invitations" in members
    # Anyone with the link sees it; accepting needs a sign-in.
    anon = Client()
    shown = anon.get(path)
    assert shown.status_code == 200 and b"Create an account" in shown.content
    assert anon.post(path)["Location"].startswith("/login/?next=%2Finvitations%2F")
    vic = client_for(verified_user("vic"))
    assert b"Accept and join" in vic.get(path).content
    joined = vic.post(path)
    assert joined.status_code == 302 and joined["Location"] == "/members/"
    assert Membership.objects.get(user__username="vic").role == "viewer"
    assert b"viewer" in vic.get("/members/").content
    used = vic.post(path)
    assert used.status_code == 410 and b"already been used" in used.content


def test_invitation_error_pages(alice_client: Client, client_for) -> None:
    path = invite(alice_client, "vic@example.com")
    vic = client_for(verified_user("vic"))
    wrong = client_for(verified_user("mallory"))
    page = wrong.get(path)
    assert b"do not include vic@example.com" in page.content
    refused = wrong.post(path)
    assert (
        refused.status_code == 403 and b"This invitation is for vic@example.com" in refused.content
    )
    assert vic.get(path[:-3] + "xx/").status_code == 404
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = vic.post(path)
    assert expired.status_code == 410 and b"expired" in expired.content
    path2 = invite(alice_client, "vic@example.com")
    inv = Invitation.objects.get(revoked_at=None, expires_at__gt=timezone.now())
    assert alice_client.post(f"/members/invitations/{inv.id}/revoke/").status_code == 302
    revoked = vic.post(path2)
    assert revoked.status_code == 410 and b"revoked" in revoked.content
    assert not Membership.objects.filter(user__username="vic").exists()


def test_a_member_already_in_is_refused(alice_client: Client, alice: User, client_for) -> None:
    path = invite(alice_client, "bea@example.com")
    bea = verified_user("bea")
    add_member(Organization.objects.get(slug="acme"), bea, "admin")
    response = client_for(bea).post(path)
    assert response.status_code == 409 and b"already a member" in response.content
    assert Membership.objects.get(user=bea).role == "admin"  # not demoted by the invitation


def test_members_page_changes_roles_removes_and_leaves(alice_client: Client, client_for) -> None:
    acme = Organization.objects.get(slug="acme")
    mia = add_member(acme, make_user("mia"), "member")
    page = alice_client.get("/members/").content.decode()
    assert 'data-member="mia"' in page and "Change role" in page
    assert alice_client.post(f"/members/{mia.id}/role/", {"role": "viewer"}).status_code == 302
    assert Membership.objects.get(id=mia.id).role == "viewer"
    bad = alice_client.post(f"/members/{mia.id}/role/", {"role": "boss"})
    assert bad.status_code == 400 and b"role: one of owner" in bad.content
    alice_m = Membership.objects.get(user__username="alice")
    last = alice_client.post("/members/leave/")
    assert last.status_code == 409 and b"last owner of" in last.content
    demote = alice_client.post(f"/members/{alice_m.id}/role/", {"role": "admin"})
    assert demote.status_code == 409
    viewer = client_for(User.objects.get(username="mia"))
    assert viewer.post(f"/members/{alice_m.id}/remove/").status_code == 403
    assert alice_client.post(f"/members/{mia.id}/transfer/").status_code == 302
    assert Membership.objects.get(id=mia.id).role == "owner"
    assert alice_client.post("/members/leave/").status_code == 302  # mia owns it now
    assert not Membership.objects.filter(id=alice_m.id).exists()
    owner = client_for(User.objects.get(username="mia"))
    assert owner.post(f"/members/{alice_m.id}/remove/").status_code == 404  # gone
    # Sign-ins are audited too (the login signals): not this test's changes.
    actions = list(
        AuditEvent.objects.exclude(action__startswith="log")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions[-3:] == ["member.role_changed", "ownership.transferred", "member.left"]


def test_a_mail_server_that_refuses_saves_nothing(alice_client: Client, settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens
    settings.EMAIL_USE_TLS, settings.EMAIL_TIMEOUT = False, 2
    response = alice_client.post("/members/invite/", {"email": "vic@example.com", "role": "member"})
    assert response.status_code == 503 and b"could not be sent" in response.content
    assert not Invitation.objects.exists()
    assert not AuditEvent.objects.filter(action="invitation.created").exists()
