"""The audit trail through the web: sign-ins (succeeded, failed, locked out, logout) with
the address and never the password; API keys created and revoked in the portal and by an
operator in the admin, never their secret; the console's operator forms; the organization's
audit page and CSV for its admins; the console's page and CSV with everything."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from dojocloud.audit.facade import AuditEvent
from dojocloud.common.inventory import inventory
from dojocloud.scheduling import capacity
from dojocloud.tenancy import services as tenancy
from dojocloud.tenancy.models import ApiKey, Organization
from tests.integration.portal.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

IP = "10.1.2.3"


def rows(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def everything() -> str:
    return "\n".join(
        f"{e.actor}|{e.source}|{e.target}|{json.dumps(e.before)}|{json.dumps(e.after)}"
        for e in AuditEvent.objects.all()
    )


def signed_in(user: User, address: str = IP) -> Client:
    client = Client(REMOTE_ADDR=address)
    client.force_login(user)
    return client


@pytest.fixture
def adam(acme: Organization) -> User:
    user = make_user("adam")
    tenancy.add_member(acme, user, "admin")
    return user


def test_sign_ins_and_outs_are_recorded_without_the_password(alice: User, settings) -> None:  # type: ignore[no-untyped-def]
    settings.AXES_FAILURE_LIMIT = 2
    browser = Client(REMOTE_ADDR=IP)
    assert (
        browser.post("/login/", {"username": "alice", "password": "Wrong-Secret-1"}).status_code
        == 200
    )
    assert browser.post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 302
    browser.post("/logout/")
    for _ in range(3):  # the second failure locks; the locked-out third is recorded too
        Client(REMOTE_ADDR="10.9.9.9").post(
            "/login/", {"username": "mallory", "password": "Hunter2-x"}
        )
    failed = rows("login.failed")
    assert [(e.target, e.source, e.actor) for e in failed] == [
        ("alice", IP, "anonymous"),
        *[("mallory", "10.9.9.9", "anonymous")] * 3,
    ]
    assert failed[0].after == {"username": "alice"} and failed[0].organization_id is None
    [ok] = rows("login.succeeded")
    assert (ok.actor, ok.source, ok.actor_user_id, ok.target) == ("alice", IP, alice.pk, "alice")
    [out] = rows("logout")
    assert (out.actor, out.source) == ("alice", IP)
    text = everything()
    for secret in ("Wrong-Secret-1", PASSWORD, "Hunter2-x"):
        assert secret not in text


def test_keys_created_and_revoked_in_the_portal_record_prefix_never_secret(
    alice: User, adam: User
) -> None:
    client = signed_in(adam)
    client.post("/keys/", {"name": "ci", "scope": "read", "expires_in": "30"})
    raw = client.get("/keys/").context["raw_key"]
    key = ApiKey.objects.get(name="ci")
    [made] = rows("key.created")
    assert (made.actor, made.source, made.org_slug) == ("adam", IP, "acme")
    assert made.target == f"key dojo_{key.prefix}"
    assert made.before is None
    assert made.after["scope"] == "read" and made.after["name"] == "ci" and made.after["expires_at"]
    signed_in(alice, "10.7.7.7").post(f"/keys/{key.id}/revoke/")
    [revoked] = rows("key.revoked")
    assert (revoked.actor, revoked.source, revoked.organization_id) == (
        "alice",
        "10.7.7.7",
        key.organization_id,
    )
    assert revoked.before["revoked_at"] is None and revoked.after["revoked_at"]
    signed_in(alice).post(f"/keys/{key.id}/revoke/")  # again: nothing changed, no row
    assert len(rows("key.revoked")) == 1
    assert raw not in everything() and key.key_hash not in everything()


def test_an_operator_revoking_in_the_admin_is_recorded_for_the_tenant(
    alice: User, operator: User
) -> None:
    key, raw = tenancy.create_api_key(tenancy.principal_for_user(alice, "acme"), name="k")
    response = signed_in(operator, "10.0.0.9").post(
        "/admin/tenancy/apikey/", {"action": "revoke", "_selected_action": [key.id]}
    )
    assert response.status_code == 302
    [revoked] = rows("key.revoked")
    assert (revoked.actor, revoked.source, revoked.org_slug) == ("ops", "10.0.0.9", "acme")
    assert raw not in everything()


def test_console_forms_record_the_staff_user_and_address(alice: User, operator: User) -> None:
    capacity.sync_inventory(inventory())
    console = signed_in(operator, "10.0.0.9")
    console.post(
        "/console/actions/quota",
        {"tenant": "acme", "pool": "dojo", "nominal": "4", "reason": "pilot"},
    )
    tile = inventory().tiles[0].id
    console.post("/console/actions/device", {"target": tile, "action": "drain", "reason": "fw"})
    [quota] = rows("quota.set")
    assert (quota.actor, quota.source, quota.org_slug) == ("ops", "10.0.0.9", "acme")
    assert quota.before is None and quota.after["nominal"] == 4 and quota.after["reason"] == "pilot"
    [drained] = rows("device.drained")
    assert (drained.actor, drained.target, drained.organization_id) == (
        "ops",
        f"devices/{tile}",
        None,
    )


def test_the_audit_page_shows_admins_their_own_organizations_rows(
    alice: User, adam: User, victor: User, bob: User
) -> None:
    tenancy.create_api_key(tenancy.principal_for_user(alice, "acme"), name="acme-key")
    tenancy.create_api_key(tenancy.principal_for_user(bob, "globex"), name="globex-key")
    admin = signed_in(adam)
    page = admin.get("/org/audit/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "key.created" in html and "acme-key" in html
    assert "globex-key" not in html  # another tenant's row
    # Sign-ins are the accounts' (no organization): adam sees his own, no one else's.
    shown = {(r["row"].action, r["row"].target) for r in page.context["rows"]}
    assert shown == {("key.created", r.target) for r in rows("key.created")[:1]} | {
        ("login.succeeded", "adam")
    }
    assert 'href="/org/audit/"' in html  # the navigation's link, for admins
    assert signed_in(victor).get("/org/audit/").status_code == 403
    assert 'href="/org/audit/"' not in signed_in(victor).get("/jobs/").content.decode()
    # Filters: a prefix of no event, a range that ends first: 400 naming the field.
    bad = admin.get(
        "/org/audit/", {"action": "nope.", "since": "2026-02-02", "until": "2026-02-01"}
    )
    assert bad.status_code == 400
    assert "must be on or after From" in bad.content.decode()
    assert admin.get("/org/audit/", {"actor": "nobody"}).context["rows"] == []
    assert len(admin.get("/org/audit/", {"action": "key.", "actor": "ali"}).context["rows"]) == 1


def test_the_audit_page_pages_and_exports_csv(alice: User, adam: User, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from dojocloud.portal.views import audit as audit_view

    monkeypatch.setattr(audit_view, "PAGE_SIZE", 2)
    principal = tenancy.principal_for_user(alice, "acme")
    for i in range(5):
        tenancy.create_api_key(principal, name=f"k{i}")
    admin = signed_in(adam)
    seen: list[str] = []
    page = admin.get("/org/audit/", {"action": "key.created"})
    while True:
        seen += [r["row"].after["name"] for r in page.context["rows"]]
        if not page.context["next_token"]:
            break
        assert "action=key.created" in page.content.decode()  # the pager keeps the filter
        page = admin.get(
            "/org/audit/", {"action": "key.created", "page_token": page.context["next_token"]}
        )
    assert seen == ["k4", "k3", "k2", "k1", "k0"]
    export = admin.get("/org/audit.csv", {"action": "key."})
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    assert "attachment" in export["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [json.loads(r["after"])["name"] for r in table] == ["k4", "k3", "k2", "k1", "k0"]
    assert {r["actor"] for r in table} == {"alice"} and {r["organization"] for r in table} == {
        "acme"
    }
    assert admin.get("/org/audit.csv", {"since": "someday"}).status_code == 400


def test_the_console_shows_operators_everything(alice: User, bob: User, operator: User) -> None:
    tenancy.create_api_key(tenancy.principal_for_user(alice, "acme"), name="acme-key")
    tenancy.create_api_key(tenancy.principal_for_user(bob, "globex"), name="globex-key")
    Client(REMOTE_ADDR=IP).post("/login/", {"username": "alice", "password": "nope"})
    console = signed_in(operator)
    html = console.get("/console/audit/").content.decode()
    assert "acme-key" in html and "globex-key" in html and "login.failed" in html
    assert 'href="/console/audit/"' in console.get("/console/").content.decode()
    only = console.get("/console/audit/", {"org": "globex"}).context["rows"]
    assert [r["row"].after["name"] for r in only] == ["globex-key"]
    assert console.get("/console/audit/", {"org": "nope"}).status_code == 400
    export = console.get("/console/audit.csv", {"action": "login.failed"})
    table = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [(r["action"], r["target"], r["source"]) for r in table] == [
        ("login.failed", "alice", IP)
    ]
    assert signed_in(alice).get("/console/audit/").status_code == 302  # to the admin login
