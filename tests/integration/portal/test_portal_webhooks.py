"""The Webhooks pages: an admin adds an endpoint (its secret shown once, never again), sends
a test event that a real receiver on a free loopback port gets signed, and reads the delivery
with its response; a bad URL is refused naming the field; a viewer is refused and another
organization's owner gets a 404; deleting it stops its deliveries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client

from dojocloud.webhooks.models import Delivery, Endpoint
from tests.support.webhook_receiver import receiving


@pytest.fixture(autouse=True)
def _eager_loopback(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    from dojocloud.execution.celery_app import app

    settings.WEBHOOK_ALLOW_LOOPBACK_HTTP = True
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = eager


def test_add_test_read_and_delete_an_endpoint(
    alice_client: Client,
    client_for,  # type: ignore[no-untyped-def]
    victor: User,
    bob: User,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    with receiving([202]) as receiver:
        added = alice_client.post(
            "/webhooks/add/", {"url": receiver.url, "event_types": ["job.failed", "test"]}
        )
        assert added.status_code == 400  # "test" is no event to subscribe to
        assert "job.failed" in added.content.decode() and not Endpoint.objects.exists()
        added = alice_client.post(
            "/webhooks/add/", {"url": receiver.url, "event_types": ["job.failed"]}
        )
        assert added.status_code == 302
        page = alice_client.get("/webhooks/")
        secret = page.context["new_secret"]
        assert secret.startswith("whsec_") and secret in page.content.decode()
        assert page["Cache-Control"] == "no-store"
        again = alice_client.get("/webhooks/").content.decode()
        assert secret not in again and secret[:10] in again  # only its hint, from now on
        receiver.secret = secret
        endpoint = Endpoint.objects.get()
        detail = f"/webhooks/{endpoint.endpoint_id}/"
        with django_capture_on_commit_callbacks(execute=True):
            sent = alice_client.post(f"{detail}test/")
        assert sent.status_code == 302 and sent["Location"] == detail
        (got,) = receiver.wait_for(1)
        assert got.verified, got.why
        page = alice_client.get(detail).content.decode()
        assert "HTTP 202" in page and "answer 1: 202" in page and "succeeded" in page
    # A viewer reads nothing here; another organization's owner finds nothing.
    assert client_for(victor).get(detail).status_code == 403
    assert client_for(victor).get("/webhooks/").status_code == 403
    assert client_for(bob).get(detail).status_code == 404
    assert client_for(bob).post(f"{detail}delete/").status_code == 404
    assert Endpoint.objects.exists()
    assert alice_client.post(f"{detail}delete/").status_code == 302
    assert not Endpoint.objects.exists() and not Delivery.objects.exists()


def test_a_plain_http_url_is_refused_naming_the_field(alice_client: Client) -> None:
    page = alice_client.post("/webhooks/add/", {"url": "http://hooks.example.com/x"})
    assert page.status_code == 400
    assert "must be https://" in page.content.decode()
    assert not Endpoint.objects.exists()
