"""Every overlay renders with a real kustomize and every object it renders validates offline
against Kubernetes 1.37's OpenAPI models (custom resources against their vendored schemas);
tests/support/k8s_manifests.py says exactly what that checks. The validator itself is shown
to catch what it claims to."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest

from tests.support.k8s_manifests import K8S, errors_of, render

OVERLAYS = sorted(p.parent.name for p in (K8S / "overlays").glob("*/kustomization.yaml"))


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(K8S / "overlays" / request.param)


def test_there_are_dev_and_prod_overlays() -> None:
    assert OVERLAYS == ["dev", "prod"]


def test_every_rendered_object_validates(rendered: list[dict[str, Any]]) -> None:
    kinds = {o["kind"] for o in rendered}
    assert {
        "Deployment",
        "Service",
        "Job",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "ScaledObject",
        "ServiceMonitor",
        "ConfigMap",
    } <= kinds
    problems = [p for obj in rendered for p in errors_of(obj)]
    assert problems == []


def test_the_tls_component_renders_and_validates(tmp_path: Path) -> None:
    up = os.path.relpath(K8S, tmp_path)  # kustomize takes relative paths only
    (tmp_path / "kustomization.yaml").write_text(
        f"resources: [{up}/overlays/prod]\ncomponents: [{up}/components/api-tls]\n"
    )
    objects = render(tmp_path)
    assert [p for obj in objects for p in errors_of(obj)] == []


def _deployment(rendered: list[dict[str, Any]]) -> dict[str, Any]:
    return copy.deepcopy(next(o for o in rendered if o["kind"] == "Deployment"))


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (
            lambda d: d["spec"]["template"]["spec"]["containers"][0].update(
                imagePullPolicey="Always"
            ),
            "imagePullPolicey: no such field in V1Container",
        ),
        (lambda d: d["spec"].update(replicas="2"), "spec.replicas: expected int"),
        (
            lambda d: d["spec"]["template"]["spec"]["containers"][0].update(
                ports=[{"containerPort": "http"}]
            ),
            "containerPort: expected int",
        ),
        (lambda d: d["spec"].pop("selector"), "selector"),
        (lambda d: d.update(apiVersion="extensions/v1beta1"), "is not served"),
    ],
    ids=["misspelt-field", "string-for-int", "name-for-port", "missing-required", "removed-api"],
)
def test_the_validator_refuses_what_the_api_server_would(
    rendered: list[dict[str, Any]], break_it: Any, expected: str
) -> None:
    deployment = _deployment(rendered)
    assert errors_of(deployment) == []
    break_it(deployment)
    problems = errors_of(deployment)
    assert any(expected in p for p in problems), problems


def test_the_crd_schemas_refuse_a_misspelt_field(rendered: list[dict[str, Any]]) -> None:
    scaled = copy.deepcopy(next(o for o in rendered if o["kind"] == "ScaledObject"))
    assert errors_of(scaled) == []
    scaled["spec"]["triggers"][0]["metadata"]["listname"] = "dojo"
    assert any("listname" in p for p in errors_of(scaled))
    monitor = copy.deepcopy(next(o for o in rendered if o["kind"] == "ServiceMonitor"))
    monitor["spec"]["endpoints"][0]["intervall"] = "15s"
    assert any("intervall" in p for p in errors_of(monitor))
