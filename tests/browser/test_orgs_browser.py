"""A self-service organization in Chromium: sign up → open the verification link from the
email → create an organization → invite a second address → the second person signs up,
verifies and accepts → the owner changes their role → the Members page shows the new role.

The email: the web process (gunicorn) writes every message it sends into a file in its
`mail_dir` (Django's file backend), which the test reads (what `make up` prints on the
console instead). Each step's audit row is checked at the end."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from dojocloud.audit.facade import AuditEvent
from dojocloud.tenancy.models import Membership
from tests.support.web_server import WebServer, body_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = "/tmp/dojo-orgs"
PASSWORD = "a long enough passphrase"
LINK = re.compile(r"(https?://\S+)")


def last_link(server: WebServer, to: str, containing: str) -> str:
    sent = server.emails()
    for message in reversed(sent):
        if to in str(message["To"]):
            for url in LINK.findall(body_text(message)):
                if containing in url:
                    return url
    raise AssertionError(f"no email to {to} with a {containing} link: {[m['To'] for m in sent]}")


def sign_up_and_verify(page: Page, server: WebServer, username: str, email: str) -> None:
    if "/accounts/signup/" not in page.url:
        page.goto(f"{server.url}/accounts/signup/")
    expect(page.locator("h1")).to_have_text("Create an account")
    page.fill("#id_username", username)
    page.fill("#id_email", email)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("button:text('Create account')")
    expect(page.locator("h1")).to_have_text("Verify your email")
    page.goto(last_link(server, email, "/accounts/confirm-email/"))
    expect(page.locator(".confirm-email")).to_have_text(email)
    page.click("button:text('Confirm')")


def test_sign_up_create_invite_accept_change_role(
    browser: Browser, page: Page, live_server, _warm_imports
) -> None:
    # allauth's sign-up limits count in the web process's cache, new for each test.
    sign_up_and_verify(page, live_server, "olivia", "olivia@example.com")
    # Verified in the browser that signed up: signed in, with no organization yet.
    expect(page.locator("h1")).to_have_text("No organization")
    page.click("text=Create an organization")
    page.fill("#id_name", "Orbital Labs")
    page.fill("#id_slug", "Bad Slug")
    page.click("button:text('Create organization')")
    expect(page.locator("#field-slug .field-error")).to_contain_text("lowercase letters")
    page.fill("#id_slug", "orbital")
    page.click("button:text('Create organization')")
    expect(page.locator("h1")).to_have_text("Members of Orbital Labs")
    expect(page.locator('tr[data-member="olivia"] .role')).to_have_text("owner")

    page.fill("#id_email", "sam@example.com")
    page.select_option("#id_role", "member")
    page.click("button:text('Send invitation')")
    expect(page.locator('tr[data-invitation="sam@example.com"]')).to_contain_text("member")
    page.screenshot(path=f"{SHOTS}-invited.png", full_page=True)
    invitation = last_link(live_server, "sam@example.com", "/invitations/")

    # The invitee, in a browser of their own: the link, then an account for that address.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    sam = context.new_page()
    try:
        sam.goto(invitation)
        expect(sam.locator("h1")).to_have_text("Join Orbital Labs")
        sam.click("text=Create an account")
        sign_up_and_verify(sam, live_server, "sam", "sam@example.com")
        sam.goto(invitation)
        sam.click("button:text('Accept and join')")
        expect(sam.locator(".messages")).to_contain_text("You joined orbital as member")
        expect(sam.locator('tr[data-member="sam"] .role')).to_have_text("member")

        # The owner promotes them; their next page shows it.
        page.reload()
        row = page.locator('tr[data-member="sam"]')
        expect(row.locator(".role")).to_have_text("member")
        row.locator("select[name=role]").select_option("admin")
        row.locator("button:text('Change role')").click()
        expect(page.locator(".messages")).to_contain_text("Role changed to admin")
        expect(page.locator('tr[data-member="sam"] .role')).to_have_text("admin")
        page.screenshot(path=f"{SHOTS}-members.png", full_page=True)
        sam.reload()
        expect(sam.locator('tr[data-member="sam"] .role')).to_have_text("admin")
        expect(sam.locator(".who .role")).to_have_text("admin")
    finally:
        context.close()

    assert Membership.objects.get(user__username="sam").role == "admin"
    # Sign-ins and sign-outs are recorded too (by the sessions' own code): not this test's steps.
    steps = list(
        AuditEvent.objects.exclude(action__startswith="log")
        .order_by("id")
        .values_list("action", "actor", "target")
    )
    assert [a for a, _, _ in steps] == [
        "user.signed_up",
        "organization.created",
        "invitation.created",
        "user.signed_up",
        "invitation.accepted",
        "member.added",
        "member.role_changed",
    ], steps
    assert steps[-1][1:] == ("olivia", "user:sam")

    # The owner's audit page shows each step: their own sign-up (a row of no organization,
    # shown to its user only), then the organization's rows; the invitee's sign-up is sam's.
    page.click("text=Audit log")
    expect(page.locator("h1")).to_contain_text("Audit log")
    shown = [
        a
        for a in page.locator("tr[data-action]").evaluate_all(
            "rows => rows.map(r => r.dataset.action)"
        )
        if not a.startswith("log")
    ]
    assert shown == [
        "member.role_changed",
        "member.added",
        "invitation.accepted",
        "invitation.created",
        "organization.created",
        "user.signed_up",
    ], shown
    role_row = page.locator('tr[data-action="member.role_changed"]')
    expect(role_row.locator(".audit-actor")).to_have_text("olivia")
    expect(role_row.locator(".audit-change")).to_contain_text("member → admin")
    page.screenshot(path=f"{SHOTS}-audit.png", full_page=True)
