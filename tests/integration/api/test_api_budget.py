"""BillingService's budget RPCs on a real gRPC server and database: owners set and read
their organization's budget, a viewer may not set it, another organization's is NOT_FOUND,
bad figures are INVALID_ARGUMENT by field, and CreateJob past what is left is
RESOURCE_EXHAUSTED with a QuotaFailure naming the budget and the figures."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.utils import timezone

from dojo import errors
from dojo.billing import BillingClient
from dojo.client import Client
from dojo.config import ClientConfig
from dojocloud.billing.budget_rules import usd_text
from dojocloud.jobs.models import Job
from tests.integration.api.conftest import Keys
from tests.support.ledger_rows import spend
from tests.support.people import make_spec


@pytest.fixture
def billing_for(address: str) -> Iterator[Callable[[str], BillingClient]]:
    made: list[BillingClient] = []

    def make(key: str) -> BillingClient:
        client = BillingClient(ClientConfig(server=address, api_key=key, timeout=60))
        made.append(client)
        return client

    yield make
    for c in made:
        c.close()


def test_owners_set_and_read_the_budget(
    keys: Keys, billing_for: Callable[[str], BillingClient]
) -> None:
    acme = billing_for(keys.acme)
    assert acme.get_budget().monthly_usd == ""
    budget = acme.set_budget("120.50", alerts=[90, 50])
    assert budget.organization == "organizations/acme"
    assert budget.monthly_usd == "120.500000" and list(budget.alert_percents) == [50, 90]
    assert budget.hard_cap and not budget.cap_reached
    assert budget.month == f"{timezone.now():%Y-%m}" and budget.spent_usd == "0.000000"
    assert budget.updated_by.endswith("@acme")  # the key, as the audit trail names it
    assert acme.get_budget().remaining_usd == "120.500000"
    with pytest.raises(errors.PermissionDeniedError):
        billing_for(keys.acme_viewer).set_budget("1")
    with pytest.raises(errors.PermissionDeniedError):  # usage.read: owners and admins
        billing_for(keys.acme_viewer).get_budget()
    globex = billing_for(keys.globex)
    with pytest.raises(errors.NotFoundError):
        globex.get_budget(parent="organizations/acme")
    with pytest.raises(errors.NotFoundError):
        globex.set_budget("1", parent="organizations/acme")
    with pytest.raises(errors.InvalidArgumentError) as bad:
        acme.set_budget("12.3456789", alerts=[0, 50])
    fields = [v.field for v in bad.value.field_violations]
    assert fields == ["monthly_usd", "alert_percents[0]"]
    assert acme.get_budget().monthly_usd == "120.500000"  # unchanged


def test_create_job_past_the_budget_is_resource_exhausted(
    keys: Keys, acme: Client, billing_for: Callable[[str], BillingClient]
) -> None:
    b = billing_for(keys.acme)
    b.set_budget("0.01")
    job = acme.create_job(make_spec("small"))  # fits in a cent
    row = Job.objects.get(id=job.name.rsplit("/", 1)[1])
    spend(row, 10_000, rate="0.01")  # a segment that spent the cent (as a worker would add it)
    assert b.get_budget().cap_reached
    with pytest.raises(errors.ResourceExhaustedError) as info:
        acme.create_job(make_spec("second"))
    err = info.value
    assert err.reason == "BUDGET_EXHAUSTED"
    [violation] = err.quota_violations
    assert violation.subject == "organizations/acme/budget"
    assert "exceeds what is left of the monthly budget of organizations/acme: $0.00 " in (
        violation.description
    )
    assert f"(budget $0.01, spent ${usd_text(10_000)} this month)" in violation.description
    assert Job.objects.filter(name="second").count() == 0
