"""The Billing page's budget: the card with spend against it, the admins' form (set,
change, remove; bad figures named), and no form for a member."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client

from dojocloud.billing import facade as billing
from dojocloud.tenancy import facade as tenancy


def test_admins_set_and_see_the_budget(alice_client: Client, alice: User) -> None:
    page = alice_client.get("/billing/").content.decode()
    assert "No budget: spend is not capped." in page and 'name="monthly_usd"' in page
    answer = alice_client.post(
        "/billing/budget/",
        {"monthly_usd": "250", "alert_percents": "50, 90", "hard_cap": "on"},
        follow=True,
    )
    page = answer.content.decode()
    assert "Budget set: $250.00 a month." in page
    assert "$250.00" in page and "hard cap: jobs stop at it" in page
    assert "50% · 90%" in page and "$250.00 left" in page
    org = tenancy.Organization.objects.get(slug="acme")
    assert billing.get_budget(org).alert_percents == (50, 90)
    bad = alice_client.post(
        "/billing/budget/", {"monthly_usd": "-3", "alert_percents": "0"}, follow=True
    ).content.decode()
    assert "monthly_usd: must be more than 0 USD" in bad
    assert "alert_percents[0]: must be between 1 and 1000" in bad
    assert billing.get_budget(org).monthly_micros == 250_000_000  # unchanged
    words = alice_client.post(
        "/billing/budget/", {"monthly_usd": "5", "alert_percents": "half"}, follow=True
    ).content.decode()
    assert "Alerts: percents separated by commas" in words
    removed = alice_client.post(
        "/billing/budget/", {"monthly_usd": "", "alert_percents": ""}, follow=True
    ).content.decode()
    assert "Budget removed" in removed and billing.get_budget(org).monthly_micros is None


def test_a_member_sees_no_form_and_may_not_post(client_for, alice: User) -> None:  # type: ignore[no-untyped-def]
    org = tenancy.Organization.objects.get(slug="acme")
    mia = User.objects.create_user("mia-budget", email="mia@acme.test")
    tenancy.add_member(org, mia, tenancy.Role.MEMBER)
    member = client_for(mia)
    assert member.get("/billing/").status_code == 403  # usage.read: owners and admins
    assert member.post("/billing/budget/", {"monthly_usd": "1"}).status_code == 403
    assert billing.get_budget(org).monthly_micros is None
