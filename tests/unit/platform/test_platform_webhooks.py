"""Webhooks on the configured database with a real HTTP receiver on a free loopback port: the
secret shown once and sealed, the endpoint URL rules, who may do what (another tenant's
endpoint does not exist), every delivery signed (the receiver verifies each one; a tampered
body fails), retries with exponential backoff recorded attempt by attempt, and the moments
that queue deliveries: a job's final state, a budget alert, a finalized invoice. The Celery
task runs eagerly here; tests/integration/webhooks/ runs a real worker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction

from dojo.webhooks import SignatureError, signature_header, verify
from dojocloud.audit.models import AuditEvent
from dojocloud.billing.facade import BudgetAlert, Invoice, budget_alerted, finalize_due
from dojocloud.common.errors import InvalidArgument, NotFound, PermissionDenied
from dojocloud.jobs import services as jobs
from dojocloud.webhooks import delivery, sealing, services
from dojocloud.webhooks.models import Attempt, Delivery, DeliveryStatus, Endpoint
from tests.support.people import People, make_spec
from tests.support.webhook_receiver import Receiver, receiving


@pytest.fixture(autouse=True)
def _eager_loopback(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    from dojocloud.execution.celery_app import app

    settings.WEBHOOK_ALLOW_LOOPBACK_HTTP = True
    settings.WEBHOOK_BACKOFF_S = 10.0
    settings.WEBHOOK_MAX_ATTEMPTS = 4
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True  # the task runs in the test's process, on commit
    yield
    app.conf.task_always_eager = eager


def _endpoint(people: People, receiver: Receiver, *types: str) -> services.NewEndpoint:
    made = services.create_endpoint(people.owner, receiver.url, list(types), "ci receiver")
    receiver.secret = made.secret
    return made


def test_the_secret_is_shown_once_and_stored_sealed(people: People) -> None:
    made = services.create_endpoint(people.owner, "https://hooks.example.com/dojo")
    row = Endpoint.objects.get(id=made.endpoint.id)
    assert made.secret.startswith("whsec_") and len(made.secret) > 40
    assert made.secret not in row.secret_sealed and row.secret_hint == made.secret[:10]
    assert sealing.unseal(row.secret_sealed) == made.secret
    assert row.event_types == sorted(
        [
            "job.succeeded",
            "job.failed",
            "job.cancelled",
            "billing.budget_alert",
            "invoice.finalized",
        ]
    )
    audit = AuditEvent.objects.get(action="webhook.created")
    assert made.secret not in json.dumps(audit.after) and audit.target == row.resource_name
    assert row.resource_name == f"organizations/acme/webhooks/{row.endpoint_id}"


def test_a_secret_sealed_under_another_key_is_refused_not_misused(people: People, settings) -> None:  # type: ignore[no-untyped-def]
    made = services.create_endpoint(people.owner, "https://hooks.example.com/dojo")
    settings.SECRET_KEY = "another-secret-key-after-rotation-0123456789"
    with pytest.raises(sealing.Unsealable):
        sealing.unseal(Endpoint.objects.get(id=made.endpoint.id).secret_sealed)


@pytest.mark.parametrize(
    ("url", "loopback_http", "field_words"),
    [
        ("https://hooks.example.com/x", False, None),
        ("http://127.0.0.1:8080/x", True, None),
        ("http://localhost/x", True, None),
        ("http://[::1]:9000/x", True, None),
        ("http://127.0.0.1:8080/x", False, "loopback is off"),
        ("http://hooks.example.com/x", True, "must be https://"),
        ("ftp://hooks.example.com/x", True, "must be https://"),
        ("https://user:pw@hooks.example.com/x", True, "user name or password"),
        ("https:///nohost", True, "has no host"),
        ("https://hooks.example.com:99999/x", True, "is not a URL"),
        ("", True, "https:// URL"),
    ],
)
def test_endpoint_urls(
    people: People, settings, url: str, loopback_http: bool, field_words: str | None
) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_ALLOW_LOOPBACK_HTTP = loopback_http
    if field_words is None:
        assert services.create_endpoint(people.owner, url).endpoint.url == url
        return
    with pytest.raises(InvalidArgument) as bad:
        services.create_endpoint(people.owner, url)
    (violation,) = bad.value.violations
    assert violation.field == "url" and field_words in violation.description
    assert not Endpoint.objects.exists()


def test_unknown_event_types_are_named(people: People) -> None:
    with pytest.raises(InvalidArgument) as bad:
        services.create_endpoint(
            people.owner, "https://h.example.com", ["job.succeeded", "job.exploded"]
        )
    (violation,) = bad.value.violations
    assert violation.field == "event_types" and "'job.exploded'" in violation.description


def test_admins_manage_members_may_not_and_other_tenants_see_nothing(people: People) -> None:
    made = services.create_endpoint(people.owner, "https://hooks.example.com/dojo")
    eid = made.endpoint.endpoint_id
    for who in (people.member, people.viewer):
        with pytest.raises(PermissionDenied, match="cannot (manage|read) webhooks"):
            services.create_endpoint(who, "https://hooks.example.com/x")
        with pytest.raises(PermissionDenied):
            services.list_endpoints(who)
    assert services.list_endpoints(people.outsider) == []
    for act in (
        services.get_endpoint,
        services.delete_endpoint,
        services.send_test,
        services.deliveries_of,
    ):
        with pytest.raises(NotFound, match="organizations/other/webhooks/"):
            act(people.outsider, eid)
        with pytest.raises(NotFound):  # acme's resource name, asked by other's owner
            act(people.outsider, made.endpoint.resource_name)
    assert services.get_endpoint(people.owner, made.endpoint.resource_name) == made.endpoint
    services.delete_endpoint(people.owner, eid)
    assert not Endpoint.objects.exists()
    assert AuditEvent.objects.filter(action="webhook.deleted", target__endswith=eid).exists()


def test_a_test_event_is_signed_and_recorded_with_its_response(
    people: People,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    with receiving([200]) as receiver:
        made = _endpoint(people, receiver)
        with django_capture_on_commit_callbacks(execute=True):
            sent = services.send_test(people.owner, made.endpoint.endpoint_id)
        (got,) = receiver.wait_for(1)
    assert got.verified, got.why
    event = verify(got.body, got.headers["Dojo-Signature"], made.secret)
    assert event["type"] == "test" and event["organization"] == "acme"
    assert event["id"] == sent.event_id == got.headers["Dojo-Event-Id"]
    assert got.headers["Dojo-Event"] == "test" and got.path == "/hooks/dojo"
    row = Delivery.objects.get(id=sent.id)
    assert (row.status, row.attempts, row.response_code) == (DeliveryStatus.SUCCEEDED, 1, 200)
    assert row.response_excerpt == "answer 1: 200" and row.next_attempt_at is None
    assert AuditEvent.objects.filter(action="webhook.tested").count() == 1


def test_a_tampered_body_or_a_wrong_secret_fails_verification(people: People) -> None:
    body = b'{"id":"evt_1","type":"test","data":{"amount":"1.00"}}'
    header = signature_header("whsec_right", 1_700_000_000, body)
    assert verify(body, header, "whsec_right", now=1_700_000_010)["id"] == "evt_1"
    for tampered, secret, now in (
        (body.replace(b"1.00", b"9.00"), "whsec_right", 1_700_000_010),
        (body + b" ", "whsec_right", 1_700_000_010),
        (body, "whsec_wrong", 1_700_000_010),
        (body, "whsec_right", 1_700_000_000 + 301),  # a replay, five minutes on
    ):
        with pytest.raises(SignatureError):
            verify(tampered, header, secret, now=now)
    for bad in ("", "t=1", "v1=ab", "t=x,v1=ab", "garbage"):
        with pytest.raises(SignatureError):
            verify(body, bad, "whsec_right")


def test_retries_back_off_exponentially_and_every_attempt_is_recorded(people: People) -> None:
    with receiving([500, 503, 200]) as receiver:
        _endpoint(people, receiver)
        with transaction.atomic():
            (queued,) = services.publish(people.acme, "job.succeeded", {"job": {"id": "j1"}})
        t0 = datetime.now(UTC)
        assert delivery.attempt(queued.id, now=t0) == 10.0
        assert delivery.attempt(queued.id, now=t0 + timedelta(seconds=5)) is None  # not due
        assert delivery.attempt(queued.id, now=t0 + timedelta(seconds=10)) == 20.0
        assert delivery.attempt(queued.id, now=t0 + timedelta(seconds=30)) is None  # succeeded
        got = receiver.wait_for(3)
    assert all(r.verified for r in got), [r.why for r in got]
    assert len({r.body for r in got}) == 1  # the same body, re-signed each time
    tries = list(Attempt.objects.filter(delivery_id=queued.id).order_by("number"))
    assert [(a.number, a.response_code, a.retry_in_s) for a in tries] == [
        (1, 500, 10.0),
        (2, 503, 20.0),
        (3, 200, None),
    ]
    assert tries[0].response_excerpt == "answer 1: 500"
    row = Delivery.objects.get(id=queued.id)
    assert (row.status, row.attempts, row.response_code) == ("succeeded", 3, 200)


def test_a_delivery_gives_up_after_max_attempts(people: People, settings) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    with receiving([500]) as receiver:
        made = _endpoint(people, receiver)
        with transaction.atomic():
            (queued,) = services.publish(people.acme, "job.failed", {})
        t0 = datetime.now(UTC)
        assert delivery.attempt(queued.id, now=t0) == 10.0
        assert delivery.attempt(queued.id, now=t0 + timedelta(seconds=10)) is None
        receiver.wait_for(2)
    row = Delivery.objects.get(id=queued.id)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 2, None)
    assert made.endpoint.endpoint_id in row.endpoint.resource_name


def test_no_answer_is_a_failed_attempt_with_its_reason(people: People) -> None:
    made = services.create_endpoint(people.owner, "http://127.0.0.1:9/closed")  # discard port
    with transaction.atomic():
        (queued,) = services.publish(people.acme, "job.failed", {})
    assert delivery.attempt(queued.id) == 10.0
    row = Delivery.objects.get(id=queued.id)
    assert row.response_code is None and row.error and row.status == "pending"
    assert row.endpoint == made.endpoint


def test_backoff() -> None:
    assert [delivery.backoff_s(n, 30.0) for n in (1, 2, 3, 4)] == [30.0, 60.0, 120.0, 240.0]
    assert delivery.backoff_s(20, 30.0) == delivery.MAX_BACKOFF_S


def test_a_jobs_final_state_queues_its_event_to_the_endpoints_that_take_it(
    people: People,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    with receiving([200]) as receiver:
        made = _endpoint(people, receiver, "job.cancelled")
        deaf = services.create_endpoint(people.owner, "https://h.example.com", ["job.failed"])
        job = jobs.create_job(people.owner, make_spec("webhooked"))
        assert not Delivery.objects.exists()  # a submit is no event
        with django_capture_on_commit_callbacks(execute=True):
            jobs.cancel_job(people.owner, job.id, reason="not needed")
        (got,) = receiver.wait_for(1)
    assert got.verified, got.why
    event = json.loads(got.body)
    assert event["type"] == "job.cancelled" and event["organization"] == "acme"
    assert event["data"]["job"]["id"] == job.id and event["data"]["job"]["name"] == "webhooked"
    assert (
        event["data"]["job"]["state"] == "CANCELLED"
        and event["data"]["job"]["reason"] == "not needed"
    )
    assert not Delivery.objects.filter(endpoint=deaf.endpoint).exists()
    assert Delivery.objects.get(endpoint=made.endpoint).status == "succeeded"


def test_another_tenants_job_reaches_none_of_acmes_endpoints(people: People) -> None:
    services.create_endpoint(people.owner, "https://h.example.com")
    job = jobs.create_job(people.outsider, make_spec("theirs"))
    jobs.cancel_job(people.outsider, job.id)
    assert not Delivery.objects.exists()


def test_a_budget_alert_and_a_finalized_invoice_are_delivered(
    people: People,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    with receiving([200]) as receiver:
        _endpoint(people, receiver, "billing.budget_alert", "invoice.finalized")
        alert = BudgetAlert(people.acme.id, "2026-11", 80, Decimal("80.5"), Decimal("100"), False)
        with django_capture_on_commit_callbacks(execute=True):
            budget_alerted.send(sender=BudgetAlert, alert=alert)
        Invoice.objects.create(organization=people.acme, month=date(2026, 10, 1))
        with django_capture_on_commit_callbacks(execute=True):
            (final,) = finalize_due(now=datetime(2026, 11, 2, tzinfo=UTC))
        got = receiver.wait_for(2)
    assert all(r.verified for r in got), [r.why for r in got]
    first, second = (json.loads(r.body) for r in got)
    assert first["type"] == "billing.budget_alert"
    assert first["data"] == {
        "month": "2026-11",
        "threshold_percent": 80,
        "spent_usd": "80.5",
        "budget_usd": "100",
        "cap_reached": False,
    }
    assert second["type"] == "invoice.finalized"
    assert second["data"]["invoice"]["number"] == final.display_number
    assert second["data"]["invoice"]["month"] == "2026-10"


def test_beats_sweep_sends_deliveries_whose_message_was_lost(people: People) -> None:
    from dojocloud.webhooks import tasks

    with receiving([200]) as receiver:
        _endpoint(people, receiver)
        with transaction.atomic():  # committed here, but its send never ran (a lost message)
            (queued,) = services.publish(people.acme, "job.failed", {})
        assert delivery.overdue_ids() == []  # not yet overdue: its own message may still come
        Delivery.objects.filter(id=queued.id).update(
            next_attempt_at=datetime.now(UTC) - timedelta(minutes=5)
        )
        assert tasks.send_due() == 1
        (got,) = receiver.wait_for(1)
    assert got.verified and Delivery.objects.get(id=queued.id).status == "succeeded"
    assert tasks.send_due() == 0
