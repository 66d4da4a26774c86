"""deploy/k8s: every manifest parses, and what the API's TLS patch sets is what the settings
read: the variables exist, and the paths it sets are inside the volume it mounts."""

from __future__ import annotations

from pathlib import Path

import yaml

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
SETTINGS = Path(__file__).resolve().parents[2] / "platform" / "dojocloud" / "settings.py"


def _docs(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]


def test_every_manifest_parses_and_the_kustomization_lists_files_that_exist() -> None:
    kustomization = _docs("kustomization.yaml")[0]
    for name in kustomization["resources"]:
        assert (K8S / name).is_file(), name
        assert all("kind" in d for d in _docs(name)), name


def test_the_tls_patch_mounts_what_it_points_the_api_at() -> None:
    patch = _docs("api-tls.yaml")[0]
    assert (patch["kind"], patch["metadata"]["name"]) == ("Deployment", "api")
    assert "api.yaml" in _docs("kustomization.yaml")[0]["resources"]
    spec = patch["spec"]["template"]["spec"]
    container = spec["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    settings = SETTINGS.read_text()
    assert set(env) == {"DOJO_GRPC_TLS_CERT", "DOJO_GRPC_TLS_KEY"}
    assert all(f'"{name}"' in settings for name in env)
    mount = container["volumeMounts"][0]
    assert all(value.startswith(mount["mountPath"] + "/") for value in env.values())
    volume = {v["name"]: v for v in spec["volumes"]}[mount["name"]]
    assert volume["secret"]["secretName"] == "dojo-api-tls"
    assert "tcpSocket" in container["readinessProbe"]  # the gRPC probe cannot speak TLS


def test_every_long_running_process_is_restarted_by_the_kubelet() -> None:
    """Issue 9's supervisor under Kubernetes: Deployments restart their pods (restartPolicy
    Always, the only one a Deployment allows), and each container has a liveness probe."""
    deployments = [
        d
        for name in ("web.yaml", "api.yaml", "workers.yaml")
        for d in _docs(name)
        if d["kind"] == "Deployment"
    ]
    assert {d["metadata"]["name"] for d in deployments} >= {"web", "api", "worker-dojo"}
    for d in deployments:
        pod = d["spec"]["template"]["spec"]
        assert pod.get("restartPolicy", "Always") == "Always", d["metadata"]["name"]
        for container in pod["containers"]:
            assert "livenessProbe" in container, (d["metadata"]["name"], container["name"])
