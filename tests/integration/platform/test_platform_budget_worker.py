"""The acceptance case of budgets, on real Celery workers and the real scheduling loop: a
job whose organization reaches its budget's hard cap mid-job is checkpointed and held
(BUDGET_EXHAUSTED; the 100 % alert mailed by the worker that wrote the crossing row);
raising the budget resumes it from its checkpoint to the same final weights as an
uninterrupted run of the same spec."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
import torch
from django.contrib.auth.models import User
from django.db.models import Sum
from platform_worker_procs import Workers

from dojocloud.audit.facade import Actor
from dojocloud.billing import facade as billing
from dojocloud.billing.models import BudgetAlertSent, UsageRecord
from dojocloud.execution.checkpoints import latest_checkpoint
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Job, JobEvent
from dojocloud.tenancy.services import create_organization, principal_for_user
from tests.support.driving import drive, tiny_spec

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
ACTOR = Actor(label="alice@acme")


def steps_for(seconds: float) -> int:
    """Steps of the tiny model that take about `seconds` here and now, one thread."""
    from dojo_runtime.training import Trainer
    from dojocloud.jobs.runtime_config import train_config
    from dojocloud.jobs.validation import validate_spec

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        trainer = Trainer(train_config(validate_spec(tiny_spec(steps=80, interval=80))))
        state = trainer.train(trainer.initial_state(), 20)
        started = time.perf_counter()
        trainer.train(state, 80)
        per_step = (time.perf_counter() - started) / 60
    finally:
        torch.set_num_threads(threads)
    return max(20, min(int(seconds / per_step), 50_000))


def final_weights(job_id: str) -> dict[str, torch.Tensor]:
    found = latest_checkpoint(job_id)
    assert found is not None
    return torch.load(io.BytesIO(found[1]), weights_only=True)["model"]  # type: ignore[no-any-return]


def spent(org_id: int) -> int:
    return int(
        UsageRecord.objects.filter(organization_id=org_id).aggregate(m=Sum("amount_micros"))["m"]
        or 0
    )


def test_cap_mid_job_holds_it_and_raising_resumes_to_the_same_weights(
    live: Workers, tmp_path: Path
) -> None:
    billing.seed_prices()  # an earlier transactional test's flush took the migration's seed
    alice = User.objects.create_user("alice", email="alice@acme.test")
    org = create_organization("acme", "Acme", alice)
    owner = principal_for_user(alice)
    interval = steps_for(4.0)
    mail_dir = tmp_path / "mail"
    live.start(env={"DOJO_EMAIL_BACKEND": "file", "DOJO_EMAIL_FILE_DIR": str(mail_dir)})

    reference = jobs.create_job(owner, tiny_spec(steps=4 * interval, interval=interval))
    drive(lambda: Job.objects.get(id=reference.id).is_final, live.logs, timeout=300)
    reference.refresh_from_db()
    assert reference.state == "SUCCEEDED", (reference.state_reason, live.logs())
    segment = UsageRecord.objects.filter(job=reference).order_by("segment").first()
    assert segment is not None and segment.amount_micros >= 4, segment.amount_micros

    billing.set_budget(org, monthly_usd="1000", alert_percents=[], hard_cap=True, actor=ACTOR)
    capped = jobs.create_job(owner, tiny_spec(steps=4 * interval, interval=interval))
    drive(lambda: UsageRecord.objects.filter(job=capped).exists(), live.logs, timeout=300)
    # The cap falls inside the capped job's second segment: its row crosses it.
    cap = spent(org.pk) + segment.amount_micros // 2
    billing.set_budget(
        org, monthly_usd=f"{cap / 1e6:.6f}", alert_percents=[], hard_cap=True, actor=ACTOR
    )

    def held() -> bool:
        job = Job.objects.get(id=capped.id)
        assert not job.is_final, (job.state, job.state_reason)
        return job.state == "QUEUED" and job.pending_reason.startswith("BUDGET_EXHAUSTED")

    drive(held, live.logs, timeout=300)
    stopped_at = latest_checkpoint(capped.id)
    assert stopped_at is not None and 0 < stopped_at[0].step < 4 * interval
    budget = billing.get_budget(org)
    assert budget.cap_reached and budget.alerted == (50, 80, 100)
    assert BudgetAlertSent.objects.get(organization=org, threshold_percent=100).emailed == 1
    mails = "".join(p.read_text() for p in mail_dir.glob("*.log"))
    assert "alice@acme.test" in mails and "hard cap is reached" in mails
    notes = [e.data["reason"] for e in JobEvent.objects.filter(job_id=capped.id, kind="state")]
    assert any(n.startswith("preemption requested by billing: BUDGET_EXHAUSTED") for n in notes)
    # Held: passes go by and it stays queued, placed nowhere.
    deadline = time.monotonic() + 3
    drive(lambda: time.monotonic() > deadline, live.logs, timeout=30)
    still = Job.objects.get(id=capped.id)
    assert still.state == "QUEUED" and not still.allocations.filter(released_at=None).exists()

    billing.set_budget(org, monthly_usd="1000", alert_percents=[], hard_cap=True, actor=ACTOR)
    drive(lambda: Job.objects.get(id=capped.id).is_final, live.logs, timeout=300)
    capped.refresh_from_db()
    assert capped.state == "SUCCEEDED", (capped.state_reason, live.logs())
    assert capped.attempt == 2 and capped.current_step == 4 * interval
    ours, theirs = final_weights(capped.id), final_weights(reference.id)
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours), "weights differ after the hold"
