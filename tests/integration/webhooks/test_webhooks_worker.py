"""Webhooks through a real Celery worker process (the `webhooks` queue) and the embedded
Redis, to a real HTTP receiver on a free loopback port that verifies every signature: a
test event from the button's service call, a job's cancellation, and a receiver that fails
twice before it answers 200 (the retries arrive with exponential backoff, and every attempt
is recorded with its response)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack import REPO, worker_argv
from dojo.webhooks import SignatureError, verify
from dojocloud.jobs import services as jobs
from dojocloud.webhooks import services
from dojocloud.webhooks.models import Attempt, Delivery
from tests.support.people import make_people, make_spec
from tests.support.webhook_receiver import receiving

BACKOFF_S = 0.5


def _database_url() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = (db.get("USER") or "") + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return (
        f"postgresql://{auth + '@' if auth else ''}{db.get('HOST') or '127.0.0.1'}:"
        f"{db.get('PORT') or 5432}/{db['NAME']}"
    )


@pytest.fixture
def worker(
    transactional_db: None,
    redis_url: str,
    settings,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> Iterator[Path]:
    """A Celery worker for the `webhooks` queue; yields its log file."""
    from dojocloud.celery import app

    settings.REDIS_URL = redis_url
    settings.WEBHOOK_ALLOW_LOOPBACK_HTTP = True
    old_broker = app.conf.broker_url
    app.conf.broker_url = redis_url
    app._pool = None  # Celery caches pools built for the broker URL it saw first
    app.amqp._producer_pool = None
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "DOJO_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "dojocloud.settings",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,  # the worker unseals the secrets
        "DOJO_WEBHOOK_BACKOFF_S": str(BACKOFF_S),
        "DOJO_WEBHOOK_MAX_ATTEMPTS": "5",
        "DOJO_WEBHOOK_ALLOW_LOOPBACK_HTTP": "1",
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            worker_argv("webhooks", f"hooks{uuid.uuid4().hex[:6]}@test", alone=True),
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield log
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        app.conf.broker_url = old_broker
        app._pool = None
        app.amqp._producer_pool = None


def _settled(delivery_id: int, log: Path, timeout: float = 60.0) -> Delivery:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = Delivery.objects.get(id=delivery_id)
        if row.status != "pending":
            return row
        time.sleep(0.1)
    raise AssertionError(f"delivery {delivery_id} still pending:\n{log.read_text()[-3000:]}")


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_deliveries_through_a_real_worker_are_signed_and_retried(worker: Path) -> None:
    people = make_people()
    with receiving([500, 502, 200, 200]) as receiver:
        made = services.create_endpoint(people.owner, receiver.url, [], "ci")
        receiver.secret = made.secret
        sent = services.send_test(people.owner, made.endpoint.endpoint_id)
        row = _settled(sent.id, worker, timeout=120)  # the worker's first start is slow
        first_three = receiver.wait_for(3)
        job = jobs.create_job(people.owner, make_spec("hooked"))
        jobs.cancel_job(people.owner, job.id, reason="done with it")
        got = receiver.wait_for(4)
    assert all(r.verified for r in got), [r.why for r in got]
    assert (row.status, row.attempts, row.response_code) == ("succeeded", 3, 200)
    tries = list(Attempt.objects.filter(delivery_id=sent.id).order_by("number"))
    assert [(a.response_code, a.retry_in_s) for a in tries] == [
        (500, BACKOFF_S),
        (502, 2 * BACKOFF_S),
        (200, None),
    ]
    assert tries[1].response_excerpt == "answer 2: 502"
    # The retries waited out their backoff: 0.5 s, then 1 s (and some; never less).
    gaps = [b.at - a.at for a, b in zip(first_three, first_three[1:], strict=False)]
    assert gaps[0] >= BACKOFF_S * 0.9 and gaps[1] >= 2 * BACKOFF_S * 0.9, gaps
    assert len({r.body for r in first_three}) == 1
    cancelled = json.loads(got[3].body)
    assert cancelled["type"] == "job.cancelled"
    assert cancelled["data"]["job"]["id"] == job.id
    # A receiver that checks the signature refuses a body changed on the way.
    tampered = got[3].body.replace(b"done with it", b"done with IT")
    with pytest.raises(SignatureError):
        verify(tampered, got[3].headers["Dojo-Signature"], made.secret)
