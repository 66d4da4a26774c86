"""What the rendered overlays must say, beyond being valid objects (test_k8s_schema.py):
gunicorn for the web, two api replicas with gRPC probes, a worker Deployment with requests,
limits, autoscaling and a disruption budget for every pool of the inventories (GPUs, node
selector and toleration on the GPU pools), the migrate Job, network policies that let only
web and api in from outside and workers out only to the data stores, object storage instead
of a shared volume, Secrets referenced but never rendered, only settings the code reads, and
one services worker that runs Celery beat and takes every queue beat sends to."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings

from tests.support.k8s_manifests import K8S, REPO, render

OVERLAYS = ["dev", "prod"]
SECRETS = {"dojo-config", "dojo-redis-keda", "dojo-api-tls"}  # created outside git
DATA_STORE_PORTS = {53, 5432, 6379, 443, 9000}  # DNS, PostgreSQL, Redis, S3, MinIO
SETTINGS = (REPO / "platform" / "dojocloud" / "settings.py").read_text()


@pytest.fixture(scope="module", params=OVERLAYS)
def objs(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(K8S / "overlays" / request.param)


def of_kind(objs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def pod(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def pools(objs: list[dict[str, Any]]) -> set[str]:
    """The pools of the inventory the overlay points DOJO_CLUSTER at."""
    inventory = of_kind(objs, "ConfigMap")["dojo-settings"]["data"]["DOJO_CLUSTER"]
    data = yaml.safe_load((REPO / inventory).read_text())
    names = {d.get("pool", "dojo") for d in data.get("dojo") or []}
    return names | {g["pool"] for g in data.get("gpu_pools") or []}


def test_web_runs_gunicorn_and_api_two_replicas_with_grpc_probes(objs) -> None:  # type: ignore[no-untyped-def]
    deployments = of_kind(objs, "Deployment")
    web = pod(deployments["web"])["containers"][0]
    assert web["command"][:3] == ["python", "-m", "gunicorn"]
    assert "python:dojocloud.gunicorn_conf" in web["command"]
    assert (
        of_kind(objs, "HorizontalPodAutoscaler")["web"]["spec"]["scaleTargetRef"]["name"] == "web"
    )
    api = deployments["api"]
    assert api["spec"]["replicas"] >= 2
    container = pod(api)["containers"][0]
    assert container["command"] == ["python", "manage.py", "serve_grpc"]
    # Its threads, hence its database connections, are said, not taken from the node's cores.
    args = container["args"]
    assert int(args[args.index("--workers") + 1]) <= 32
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert int(env["DOJO_GRPC_STREAM_THREADS"]) >= 1
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"]["port"] == 50051, probe


def test_every_pool_has_a_sized_autoscaled_worker_with_a_budget(objs) -> None:  # type: ignore[no-untyped-def]
    deployments = of_kind(objs, "Deployment")
    scaled = {
        s["spec"]["scaleTargetRef"]["name"]: s for s in of_kind(objs, "ScaledObject").values()
    }
    budgets = [
        b["spec"]["selector"]["matchLabels"] for b in of_kind(objs, "PodDisruptionBudget").values()
    ]
    for pool in pools(objs):
        worker = deployments[f"worker-{pool}"]
        spec = pod(worker)
        container = spec["containers"][0]
        assert ["-Q", pool] == container["command"][6:8], container["command"]
        assert pool in {"dojo", "gpu-a100", "gpu-h100"} or pool.startswith("gpu-")
        resources = container["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"]) & set(resources["limits"])
        labels = worker["spec"]["template"]["metadata"]["labels"]
        assert any(b.items() <= labels.items() for b in budgets), pool
        (trigger,) = scaled[f"worker-{pool}"]["spec"]["triggers"]
        assert (trigger["type"], trigger["metadata"]["listName"]) == ("redis", pool)
        if pool.startswith("gpu-"):
            gpus = resources["limits"]["nvidia.com/gpu"]
            assert int(gpus) >= 1 and resources["requests"]["nvidia.com/gpu"] == gpus
            assert spec["nodeSelector"] == {"dojo.ai/gpu-type": pool.removeprefix("gpu-")}
            assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec[
                "tolerations"
            ]
            env = {e["name"]: e["value"] for e in container["env"]}
            assert env["DOJO_WORKER_SLOTS"] == gpus  # a slot per GPU of the node


def test_every_container_is_bounded_probed_and_unprivileged(objs) -> None:  # type: ignore[no-untyped-def]
    workloads = [*of_kind(objs, "Deployment").values(), *of_kind(objs, "Job").values()]
    for workload in workloads:
        spec = pod(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] != 0
        for container in spec["containers"]:
            name = (workload["metadata"]["name"], container["name"])
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
            if workload["kind"] == "Deployment":
                assert "livenessProbe" in container, name


def test_migrations_run_once_in_a_job(objs) -> None:  # type: ignore[no-untyped-def]
    job = of_kind(objs, "Job")["migrate"]
    assert pod(job)["containers"][0]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert pod(job)["restartPolicy"] == "OnFailure"


def test_object_storage_instead_of_a_shared_volume(objs) -> None:  # type: ignore[no-untyped-def]
    assert not of_kind(objs, "PersistentVolumeClaim")
    for workload in of_kind(objs, "Deployment").values():
        for volume in pod(workload).get("volumes", []):
            assert "persistentVolumeClaim" not in volume, workload["metadata"]["name"]
    settings = of_kind(objs, "ConfigMap")["dojo-settings"]["data"]
    assert settings["DOJO_STORAGE_URL"].startswith("s3://")


def test_secrets_are_referenced_never_rendered(objs) -> None:  # type: ignore[no-untyped-def]
    assert not of_kind(objs, "Secret")
    referenced = set()
    for workload in [*of_kind(objs, "Deployment").values(), *of_kind(objs, "Job").values()]:
        for container in pod(workload)["containers"]:
            referenced |= {e["secretRef"]["name"] for e in container["envFrom"] if "secretRef" in e}
    for auth in of_kind(objs, "TriggerAuthentication").values():
        referenced |= {r["name"] for r in auth["spec"]["secretTargetRef"]}
    assert referenced <= SECRETS and "dojo-config" in referenced


def test_every_setting_the_manifests_set_is_one_the_code_reads(objs) -> None:  # type: ignore[no-untyped-def]
    names = set(of_kind(objs, "ConfigMap")["dojo-settings"]["data"])
    for workload in of_kind(objs, "Deployment").values():
        for container in pod(workload)["containers"]:
            names |= {e["name"] for e in container.get("env", [])}
    assert [n for n in sorted(names) if f'"{n}"' not in SETTINGS] == []


def _policies_for(objs: list[dict[str, Any]], labels: dict[str, str], kind: str) -> list[Any]:
    return [
        p
        for p in of_kind(objs, "NetworkPolicy").values()
        if kind in p["spec"]["policyTypes"]
        and p["spec"]["podSelector"].get("matchLabels", {}).items() <= labels.items()
    ]


def test_only_web_and_api_are_reachable_from_outside(objs) -> None:  # type: ignore[no-untyped-def]
    open_to_all = {}
    for name, workload in of_kind(objs, "Deployment").items():
        labels = workload["spec"]["template"]["metadata"]["labels"]
        rules = [
            r for p in _policies_for(objs, labels, "Ingress") for r in p["spec"].get("ingress", [])
        ]
        open_to_all[name] = sorted(
            port["port"] for r in rules if not r.get("from") for port in r.get("ports", [])
        )
    assert open_to_all.pop("web") == [8000]
    assert open_to_all.pop("api") == [50051]
    assert set(map(tuple, open_to_all.values())) == {()}, open_to_all
    deny = of_kind(objs, "NetworkPolicy")["default-deny"]["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}


def test_workers_reach_only_the_data_stores(objs) -> None:  # type: ignore[no-untyped-def]
    for name, workload in of_kind(objs, "Deployment").items():
        if not name.startswith("worker-"):
            continue
        labels = workload["spec"]["template"]["metadata"]["labels"]
        rules = [
            r for p in _policies_for(objs, labels, "Egress") for r in p["spec"].get("egress", [])
        ]
        assert rules and all(r.get("ports") for r in rules), name  # no rule opens every port
        ports = {port["port"] for r in rules for port in r["ports"]}
        assert ports <= DATA_STORE_PORTS, (name, ports)


def test_the_service_monitor_finds_every_metrics_port(objs) -> None:  # type: ignore[no-untyped-def]
    (monitor,) = of_kind(objs, "ServiceMonitor").values()
    selector = monitor["spec"]["selector"]["matchLabels"]
    endpoint_ports = {e["port"] for e in monitor["spec"]["endpoints"]}
    scraped = {
        s["metadata"]["labels"]["component"]
        for s in of_kind(objs, "Service").values()
        if selector.items() <= s["metadata"]["labels"].items()
        and endpoint_ports & {p["name"] for p in s["spec"]["ports"]}
    }
    assert scraped == {"web", "api", "worker"}
    namespace = of_kind(objs, "Namespace")
    assert monitor["spec"]["namespaceSelector"]["matchNames"] == list(namespace)


def test_the_tls_component_mounts_what_it_points_the_api_at(tmp_path: Path) -> None:
    up = os.path.relpath(K8S, tmp_path)
    (tmp_path / "kustomization.yaml").write_text(
        f"resources: [{up}/overlays/prod]\ncomponents: [{up}/components/api-tls]\n"
    )
    api = of_kind(render(tmp_path), "Deployment")["api"]
    container = pod(api)["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert {"DOJO_GRPC_TLS_CERT", "DOJO_GRPC_TLS_KEY"} <= set(env)
    mount = next(m for m in container["volumeMounts"] if m["name"] == "api-tls")
    for name in ("DOJO_GRPC_TLS_CERT", "DOJO_GRPC_TLS_KEY"):
        assert f'"{name}"' in SETTINGS
        assert env[name].startswith(mount["mountPath"] + "/")
    volume = {v["name"]: v for v in pod(api)["volumes"]}["api-tls"]
    assert volume["secret"]["secretName"] == "dojo-api-tls"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):  # gRPC probes cannot TLS
        assert set(container[probe]) - {"periodSeconds", "failureThreshold"} == {"tcpSocket"}


def test_one_services_worker_runs_beat_and_takes_every_queue_beat_sends_to(objs) -> None:  # type: ignore[no-untyped-def]
    services = of_kind(objs, "Deployment")["services"]
    command = pod(services)["containers"][0]["command"]
    queues = set(command[command.index("-Q") + 1].split(","))
    sent_to = {e["options"]["queue"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert sent_to <= queues and {"billing", "webhooks", "housekeeping"} <= queues
    # Exactly one beat: inside this worker, one replica, never two during a rollout.
    assert "-B" in command
    assert services["spec"]["replicas"] == 1
    assert services["spec"]["strategy"] == {"type": "Recreate"}
    assert not [
        d
        for name, d in of_kind(objs, "Deployment").items()
        if name != "services" and "beat" in pod(d)["containers"][0].get("command", [])
    ]
    # Out: the data stores, and HTTPS to public addresses for webhook deliveries only.
    labels = services["spec"]["template"]["metadata"]["labels"]
    rules = [r for p in _policies_for(objs, labels, "Egress") for r in p["spec"].get("egress", [])]
    assert rules and all(r.get("ports") for r in rules)
    assert {port["port"] for r in rules for port in r["ports"]} <= DATA_STORE_PORTS
    (webhooks,) = of_kind(objs, "NetworkPolicy")["services-to-webhook-endpoints"]["spec"]["egress"]
    (block,) = webhooks["to"]
    assert block["ipBlock"]["cidr"] == "0.0.0.0/0" and "10.0.0.0/8" in block["ipBlock"]["except"]
