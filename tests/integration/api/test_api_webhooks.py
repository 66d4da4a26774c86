"""WebhookService over gRPC on loopback, through the SDK and the `dojo webhooks` CLI: the
secret comes back once, a test event reaches a real receiver signed (the Celery task runs
eagerly in the server's process here; tests/integration/webhooks/ runs a real worker), the
deliveries list what it answered, a bad URL is INVALID_ARGUMENT naming the field, a viewer is
PERMISSION_DENIED and another organization gets NOT_FOUND."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from dojo import cli
from dojo.client import Client
from dojo.errors import InvalidArgumentError, NotFoundError, PermissionDeniedError
from dojo.webhooks import verify
from tests.integration.api.conftest import Keys
from tests.support.webhook_receiver import receiving


@pytest.fixture(autouse=True)
def _eager_loopback(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    from dojocloud.execution.celery_app import app

    settings.WEBHOOK_ALLOW_LOOPBACK_HTTP = True
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = eager


def test_create_test_list_and_delete_over_grpc(
    acme: Client, globex: Client, keys: Keys, connect
) -> None:  # type: ignore[no-untyped-def]
    with receiving([200]) as receiver:
        made = acme.create_webhook(receiver.url, event_types=["job.failed"], description="ci")
        receiver.secret = made.secret
        name = made.webhook.name
        assert made.secret.startswith("whsec_") and name.startswith("organizations/acme/webhooks/")
        assert made.webhook.secret_hint == made.secret[:10]
        listed = acme.list_webhooks()
        assert [w.name for w in listed] == [name] and list(listed[0].event_types) == ["job.failed"]
        assert "secret" not in str(listed[0]).replace("secret_hint", "")
        sent = acme.test_webhook(name)
        (got,) = receiver.wait_for(1)
    assert got.verified, got.why
    assert verify(got.body, got.headers["Dojo-Signature"], made.secret)["id"] == sent.event_id
    (delivery,) = acme.list_webhook_deliveries(name)
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("succeeded", 1, 200)
    assert delivery.response_excerpt == "answer 1: 200"
    assert not delivery.HasField("next_attempt_time")
    # Another tenant: the webhook does not exist; a viewer may not read webhooks at all.
    for act in (globex.test_webhook, globex.delete_webhook, globex.list_webhook_deliveries):
        with pytest.raises(NotFoundError):
            act(name)
    with pytest.raises(NotFoundError):
        globex.list_webhooks(parent="organizations/acme")
    with pytest.raises(PermissionDeniedError):
        connect(keys.acme_viewer).list_webhooks()
    acme.delete_webhook(name)
    assert acme.list_webhooks() == []


def test_bad_input_names_the_field(acme: Client) -> None:
    with pytest.raises(InvalidArgumentError) as bad:
        acme.create_webhook("http://hooks.example.com/x", event_types=["job.exploded"])
    assert {v.field for v in bad.value.field_violations} == {"url", "event_types"}
    with pytest.raises(InvalidArgumentError) as bad:
        acme.list_webhook_deliveries("organizations/acme/webhooks/x", page_size=1000)
    assert [v.field for v in bad.value.field_violations] == ["page_size"]
    with pytest.raises(InvalidArgumentError) as bad:
        acme.test_webhook("")
    assert [v.field for v in bad.value.field_violations] == ["name"]


def test_the_cli_adds_lists_tests_and_deletes(
    address: str, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--server", address, "--api-key", keys.acme]
    with receiving([204]) as receiver:
        assert cli.main(["webhooks", "add", receiver.url, "--event", "job.failed", *common]) == 0
        out = capsys.readouterr().out.splitlines()
        name, secret = out[0], out[1].removeprefix("secret: ")
        receiver.secret = secret
        assert cli.main(["webhooks", "list", *common]) == 0
        table = capsys.readouterr().out
        assert name in table and secret not in table and secret[:10] in table
        assert cli.main(["webhooks", "test", name, *common]) == 0
        assert "queued" in capsys.readouterr().out
        (got,) = receiver.wait_for(1)
        assert got.verified, got.why
    assert cli.main(["webhooks", "deliveries", name, *common, "-o", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["event_type"] == "test" and row["response_code"] == 204
    assert cli.main(["webhooks", "delete", name, *common]) == 0
    assert cli.main(["webhooks", "test", name, *common]) != 0  # gone: NOT_FOUND
