"""Monthly budgets: the pure rules, setting one (audited), the admission refusal and its
figures, alerts mailed once per threshold and month, preemptible jobs billed at the
preemptible rate, and the scheduler holding an organization at its cap until it is raised."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from dojo.v1 import job_pb2
from dojocloud.audit.facade import Actor
from dojocloud.audit.models import AuditEvent
from dojocloud.billing import budget_rules as rules
from dojocloud.billing import facade as billing
from dojocloud.billing.budgets import job_cost_micros
from dojocloud.billing.models import BudgetAlertSent, RateKind, UsageRecord
from dojocloud.billing.money import amount_micros
from dojocloud.billing.ports import BudgetAlert, budget_alerted
from dojocloud.billing.prices import price_at
from dojocloud.billing.services import on_segment_ended
from dojocloud.common.errors import InvalidArgument
from dojocloud.common.inventory import inventory
from dojocloud.jobs import services as jobs
from dojocloud.jobs.admission import modelled_device_seconds
from dojocloud.jobs.models import Job
from dojocloud.jobs.ports import JobAdmission, Outcome, SegmentEnded, SegmentRun
from dojocloud.scheduling import capacity
from dojocloud.scheduling.store import DatabaseStore
from scheduler.core import Decisions
from tests.support.people import TRAINING, People, admit, make_spec

ACTOR = Actor(label="alice@acme")


# --- the pure rules ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "micros", "field_error"),
    [
        ("500", 500_000_000, False),
        ("12.34", 12_340_000, False),
        ("", None, False),
        ("0", None, True),
        ("-5", None, True),
        ("1.000001", 1_000_001, False),
        ("1.0000001", None, True),
        ("lots", None, True),
        ("2000000000", None, True),
    ],
)
def test_parse_budget(text: str, micros: int | None, field_error: bool) -> None:
    value, errors = rules.parse_budget(text)
    assert value == micros
    assert bool(errors) is field_error
    assert all(e.field == "monthly_usd" for e in errors)


def test_parse_alerts_defaults_sorts_and_names_bad_ones() -> None:
    assert rules.parse_alerts([]) == ([50, 80, 100], [])
    assert rules.parse_alerts([100, 50, 50]) == ([50, 100], [])
    _, errors = rules.parse_alerts([80, 0, 1001])
    assert [e.field for e in errors] == ["alert_percents[1]", "alert_percents[2]"]


def test_usd_text_shows_small_amounts() -> None:
    assert [rules.usd_text(m) for m in (0, 10_000, 4_213, 12_340_000, 1)] == [
        "0.00",
        "0.01",
        "0.004213",
        "12.34",
        "0.000001",
    ]


def test_crossed_and_cap() -> None:
    budget = 100_000_000  # $100
    assert rules.crossed([50, 80, 100], 49_999_999, budget) == []
    assert rules.crossed([50, 80, 100], 80_000_000, budget) == [50, 80]
    assert rules.crossed([50, 80, 100, 120], 120_000_000, budget) == [50, 80, 100, 120]
    assert rules.cap_reached(100_000_000, budget, True)
    assert not rules.cap_reached(99_999_999, budget, True)
    assert not rules.cap_reached(500_000_000, budget, False)  # alerts only
    assert not rules.cap_reached(500_000_000, None, True)  # no budget


# --- setting a budget ----------------------------------------------------------------------


def test_set_budget_is_audited_and_removable(people: People) -> None:
    view = billing.set_budget(
        people.acme, monthly_usd="250", alert_percents=[90, 50], hard_cap=True, actor=ACTOR
    )
    assert view.monthly_micros == 250_000_000 and view.alert_percents == (50, 90)
    assert view.hard_cap and view.spent_micros == 0 and view.remaining_micros == 250_000_000
    row = AuditEvent.objects.get(action="budget.set")
    assert row.target == "organizations/acme/budget" and row.before is None
    assert row.after == {"monthly_usd": "250.00", "alert_percents": [50, 90], "hard_cap": True}
    gone = billing.set_budget(
        people.acme, monthly_usd="", alert_percents=[], hard_cap=True, actor=ACTOR
    )
    assert gone.monthly_micros is None and not gone.cap_reached
    assert AuditEvent.objects.filter(action="budget.set").count() == 2


def test_set_budget_names_every_bad_field(people: People) -> None:
    with pytest.raises(InvalidArgument) as err:
        billing.set_budget(
            people.acme, monthly_usd="-1", alert_percents=[0], hard_cap=True, actor=ACTOR
        )
    assert [v.field for v in err.value.violations] == ["monthly_usd", "alert_percents[0]"]
    assert billing.get_budget(people.acme).monthly_micros is None  # nothing half-set


# --- usage rows, as a worker's segment would append them -----------------------------------


def segment(job: Job, index: int, device_seconds: float) -> SegmentEnded:
    now = timezone.now()
    run = SegmentRun(0, 2, 16, 1.0, device_seconds, now, now)
    return SegmentEnded(
        job.id, "w1", 1, index, "dojo", "dojo-tile", 1, Outcome.NEXT_SEGMENT, "next", run
    )


def dojo_rate(kind: str = RateKind.ON_DEMAND) -> Decimal:
    price = price_at("dojo", timezone.now())
    assert price is not None
    return price.rate(kind)


def seconds_for(usd: Decimal, kind: str = RateKind.ON_DEMAND) -> float:
    return float(usd / dojo_rate(kind))


def test_alerts_mail_admins_once_per_threshold(
    people: People, django_capture_on_commit_callbacks, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    people.owner.user.email = "alice@acme.test"  # type: ignore[union-attr]
    people.owner.user.save()  # type: ignore[union-attr]
    people.member.user.email = "bob@acme.test"  # type: ignore[union-attr]
    people.member.user.save()  # type: ignore[union-attr]  (a member: no alert mail)
    billing.set_budget(people.acme, monthly_usd="10", alert_percents=[], hard_cap=True, actor=ACTOR)
    job = jobs.create_job(people.owner, make_spec())
    heard: list[BudgetAlert] = []

    def listener(sender: object, alert: BudgetAlert, **_: object) -> None:
        heard.append(alert)

    budget_alerted.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            on_segment_ended(segment(job, 0, seconds_for(Decimal("5.5"))))  # 55 %
        with django_capture_on_commit_callbacks(execute=True):
            on_segment_ended(segment(job, 1, seconds_for(Decimal("1"))))  # 65 %: nothing new
        with django_capture_on_commit_callbacks(execute=True):
            on_segment_ended(segment(job, 2, seconds_for(Decimal("4"))))  # 105 %: 80 and 100
        with django_capture_on_commit_callbacks(execute=True):
            on_segment_ended(segment(job, 2, seconds_for(Decimal("4"))))  # the same row again
    finally:
        budget_alerted.disconnect(listener)
    assert [m.to for m in mail.outbox] == [["alice@acme.test"]] * 3
    assert ["50%" in m.subject for m in mail.outbox] == [True, False, False]
    assert "hard cap is reached" in mail.outbox[2].body
    assert [(a.threshold_percent, a.cap_reached) for a in heard] == [
        (50, False),
        (80, True),
        (100, True),
    ]
    assert heard[0].budget == Decimal("10") and heard[0].spent > Decimal("5.49")
    sent = BudgetAlertSent.objects.filter(organization=people.acme)
    assert sorted(sent.values_list("threshold_percent", "emailed")) == [(50, 1), (80, 1), (100, 1)]
    assert billing.get_budget(people.acme).alerted == (50, 80, 100)


# --- admission -----------------------------------------------------------------------------


def big_spec(name: str) -> job_pb2.JobSpec:
    """The digits job long enough to cost whole cents."""
    return make_spec(name, training={**TRAINING, "steps": 200_000, "checkpoint_interval": 1000})


def test_admission_refuses_a_job_past_what_is_left_with_the_figures(people: People) -> None:
    spec = big_spec("first")
    cost = job_cost_micros(
        JobAdmission(
            people.acme.pk,
            "acme",
            "dojo-tile",
            False,
            lambda: modelled_device_seconds(jobs.validate_spec(spec), people.acme),
        )
    )
    assert 10_000 < cost < 1_000_000  # between a cent and a dollar
    billing.set_budget(people.acme, monthly_usd="1", alert_percents=[], hard_cap=True, actor=ACTOR)
    first = jobs.create_job(people.owner, spec)  # its estimate fits
    spend = Decimal(1_000_000 - cost // 2).scaleb(-6)  # leaves half the job's estimate
    on_segment_ended(segment(first, 0, seconds_for(spend)))
    spent = billing.get_budget(people.acme).spent_micros
    assert 0 < 1_000_000 - spent < cost
    with pytest.raises(billing.BudgetExhausted) as err:
        jobs.create_job(people.owner, big_spec("second"))
    assert err.value.subject == "organizations/acme/budget"
    assert err.value.reason == "BUDGET_EXHAUSTED" and not err.value.retryable
    message = err.value.message
    assert f"estimated cost ${rules.usd_text(cost)}" in message
    assert "what is left of the monthly budget of organizations/acme: $" in message
    assert f"(budget $1.00, spent ${rules.usd_text(spent)} this month)" in message
    assert Job.objects.filter(organization=people.acme).count() == 1  # nothing created
    # Another organization's budget is not acme's.
    assert jobs.create_job(people.outsider, big_spec("theirs")).state == "QUEUED"
    # Alerts only (no hard cap): admitted.
    billing.set_budget(people.acme, monthly_usd="1", alert_percents=[], hard_cap=False, actor=ACTOR)
    assert jobs.create_job(people.owner, big_spec("third")).state == "QUEUED"


def test_a_preemptible_estimate_uses_the_preemptible_rate(people: People) -> None:
    def cost(preemptible: bool) -> int:
        return job_cost_micros(
            JobAdmission(people.acme.pk, "acme", "dojo-tile", preemptible, lambda: 1000.0)
        )

    assert cost(False) == amount_micros(1000 * 1_000_000, dojo_rate())
    assert cost(True) == amount_micros(1000 * 1_000_000, dojo_rate(RateKind.PREEMPTIBLE))
    assert cost(True) < cost(False)


# --- preemptible jobs pay the preemptible rate ----------------------------------------------


def test_a_preemptible_job_is_billed_at_the_preemptible_rate(people: People) -> None:
    spot = jobs.create_job(people.owner, make_spec("spot", preemptible=True))
    regular = jobs.create_job(people.owner, make_spec("regular"))
    assert spot.preemptible and not regular.preemptible
    assert jobs.spec_of(spot).preemptible
    on_segment_ended(segment(spot, 0, 100.0))
    on_segment_ended(segment(regular, 0, 100.0))
    rows = {r.job_id: r for r in UsageRecord.objects.all()}
    assert rows[spot.id].rate_kind == RateKind.PREEMPTIBLE
    assert rows[spot.id].rate == dojo_rate(RateKind.PREEMPTIBLE)
    assert rows[regular.id].rate_kind == RateKind.ON_DEMAND
    assert rows[spot.id].amount_micros < rows[regular.id].amount_micros


# --- the scheduler holds an organization at its cap -----------------------------------------


def test_the_loop_holds_jobs_at_the_cap_and_resumes_when_raised(people: People) -> None:
    capacity.sync_inventory(inventory())
    store = DatabaseStore()
    billing.set_budget(people.acme, monthly_usd="1", alert_percents=[], hard_cap=True, actor=ACTOR)
    running = jobs.create_job(people.owner, make_spec("running"))
    tiles = [t.id for t in inventory().tiles]
    assert admit(running, tiles[:1], store=store) == 1
    waiting = jobs.create_job(people.owner, make_spec("waiting"))
    theirs = jobs.create_job(people.outsider, make_spec("theirs"))
    on_segment_ended(segment(running, 0, seconds_for(Decimal("1.5"))))  # over the cap
    snap = store.snapshot(timezone.now().timestamp())
    assert [j.job_id for j in snap.queued] == [theirs.id]  # acme's waiter is held
    running.refresh_from_db()
    waiting.refresh_from_db()
    assert running.preempt_requested and running.preempt_reason.startswith("BUDGET_EXHAUSTED")
    assert waiting.pending_reason.startswith("BUDGET_EXHAUSTED: organizations/acme spent $1.50")
    store.apply(Decisions(), timezone.now().timestamp())
    billing.set_budget(people.acme, monthly_usd="5", alert_percents=[], hard_cap=True, actor=ACTOR)
    snap = store.snapshot(timezone.now().timestamp())
    assert {j.job_id for j in snap.queued} == {theirs.id, waiting.id}


def test_the_estimate_of_a_preemptible_job_shows_the_preemptible_rate(people: People) -> None:
    spec = make_spec("spot", preemptible=True)
    rows = {
        kind: next(
            r
            for r in jobs.estimate_job(
                people.owner, spec, prices=billing.accelerator_prices(preemptible=kind)
            )
            if (r.accelerator, r.count) == ("dojo-tile", 1)
        )
        for kind in (False, True)
    }
    assert rows[True].usd_per_device_hour == pytest.approx(
        float(dojo_rate(RateKind.PREEMPTIBLE) * 3600)
    )
    assert rows[True].cost_usd < rows[False].cost_usd
