"""The workers' autoscaling reads the right number: KEDA's Redis list scaler (deploy/k8s
ScaledObjects) counts the list its `listName` names, and a segment the scheduler dispatches
(execution.dispatch.send_segment, through the real Celery app to a real Redis) waits in the
list of that name until a worker of the pool takes it."""

from __future__ import annotations

import redis

from dojocloud.execution.dispatch import send_segment
from tests.support.k8s_manifests import K8S, render


def test_a_dispatched_segment_lengthens_the_list_keda_reads(live, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    scaled = {
        o["spec"]["scaleTargetRef"]["name"]: o["spec"]["triggers"][0]["metadata"]["listName"]
        for o in render(K8S / "overlays" / "prod")
        if o["kind"] == "ScaledObject"
    }
    client = redis.Redis.from_url(redis_url)
    try:
        for pool in ("dojo", "gpu-h100"):
            list_name = scaled[f"worker-{pool}"]
            before = client.llen(list_name)
            assert send_segment(f"job-{pool}", "token", pool)
            assert send_segment(f"job-{pool}-2", "token", pool)
            assert client.llen(list_name) == before + 2, (pool, list_name)
    finally:
        client.delete(*{scaled["worker-dojo"], scaled["worker-gpu-h100"]})
        client.close()
