"""Billing in Prometheus: the cost counter mirrors the rated ledger row by row (a row written
twice counts once), the web's /metrics exposes the ledger's own totals and billing's budget
alerts are counted; the recording and alerting rules pass `promtool check rules`, and every
metric that a rule or a Grafana panel names exists (a recorded `dojo:` series is a rule)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.db.models import Sum
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from dojocloud.billing.facade import BudgetAlert, UsageRecord, budget_alerted
from dojocloud.billing.ledger_metrics import FAMILIES
from dojocloud.billing.services import record_segment_usage
from dojocloud.common.metrics import render_metrics
from dojocloud.jobs import services as jobs
from tests.support.people import People, make_spec
from tests.unit.platform.test_platform_billing import usage

REPO = Path(__file__).resolve().parents[3]
RULES = REPO / "deploy/prometheus/rules.yml"
GRAFANA = REPO / "deploy/grafana"
DASHBOARD = GRAFANA / "dashboards/dojo-billing.json"
_SERIES = re.compile(r"\b(dojo[_:][a-z0-9_:]+)")


def cost(org: str) -> float:
    labels = {"organization": org, "pool": "dojo"}
    return REGISTRY.get_sample_value("dojo_usage_cost_usd_total", labels) or 0.0


def test_the_cost_counter_mirrors_the_ledgers_amounts_once_per_row(
    people: People,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    job = jobs.create_job(people.owner, make_spec())
    before = cost("acme")
    with django_capture_on_commit_callbacks(execute=True):
        assert record_segment_usage(*usage(job.id, 0)) is True
        assert record_segment_usage(*usage(job.id, 0, wall=99.0)) is False  # counted once
        assert record_segment_usage(*usage(job.id, 1)) is True
    micros = UsageRecord.objects.filter(job_id=job.id).aggregate(m=Sum("amount_micros"))["m"]
    assert micros > 0, "the dev price book prices the dojo pool"
    assert cost("acme") - before == pytest.approx(micros / 1_000_000, abs=1e-12)


def test_the_web_exposes_the_ledgers_totals(
    people: People,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    job = jobs.create_job(people.owner, make_spec())
    with django_capture_on_commit_callbacks(execute=True):
        record_segment_usage(*usage(job.id, 0, wall=7.0))
    body, _ = render_metrics()
    samples = {
        (s.name, s.labels.get("organization"), s.labels.get("pool")): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }
    row = UsageRecord.objects.get(job_id=job.id)
    assert samples[("dojo_ledger_cost_usd", "acme", "dojo")] == row.amount_micros / 1_000_000
    assert samples[("dojo_ledger_allocated_seconds", "acme", "dojo")] == 14.0
    assert ("dojo_ledger_cost_usd", "other", "dojo") not in samples


def test_budget_alerts_are_counted(people: People) -> None:
    labels = {"organization": "acme", "threshold_percent": "100", "cap_reached": "true"}
    before = REGISTRY.get_sample_value("dojo_budget_alerts_total", labels) or 0.0
    alert = BudgetAlert(people.acme.id, "2026-12", 100, Decimal("10"), Decimal("10"), True)
    budget_alerted.send(sender=BudgetAlert, alert=alert)
    assert REGISTRY.get_sample_value("dojo_budget_alerts_total", labels) == before + 1


def known_series() -> set[str]:
    """Every series name the platform exposes, and every series the rules record."""
    names = {"up", *FAMILIES}
    for family in REGISTRY.collect():
        if not family.name.startswith("dojo_"):
            continue
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}
        names |= {family.name + s for s in suffixes.get(family.type, [""])}
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        names |= {r["record"] for r in group["rules"] if "record" in r}
    return names


def rule_exprs() -> list[tuple[str, str]]:
    return [
        (r.get("record") or r["alert"], r["expr"])
        for group in yaml.safe_load(RULES.read_text())["groups"]
        for r in group["rules"]
    ]


def test_rules_name_only_series_that_exist() -> None:
    known = known_series()
    for name, expr in rule_exprs():
        unknown = set(_SERIES.findall(str(expr))) - known
        assert not unknown, f"{name} names {unknown}"
    recorded = {n for n, _ in rule_exprs()}
    for needed in ("dojo:spend_usd_per_hour:rate1h", "dojo:org_spend_usd:projected_30d"):
        assert needed in recorded
    alerts = {n for n, _ in rule_exprs() if not n.startswith("dojo:")}
    assert {"DojoSpendSurge", "DojoBudgetCapReached", "DojoLedgerCounterDrift"} <= alerts


def test_promtool_accepts_the_rules() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    res = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"SUCCESS: {len(rule_exprs())} rules found" in res.stdout


def test_every_grafana_panel_queries_series_that_exist() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    known = known_series()
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for word in ("usage", "spend", "queue", "utilization"):
        assert word in titles, f"no {word} panel"
    datasource = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid
            unknown = set(_SERIES.findall(target["expr"])) - known
            assert not unknown, f"panel {panel['title']!r} names {unknown}"
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/dojo.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
