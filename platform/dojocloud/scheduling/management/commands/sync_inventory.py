"""manage.py sync_inventory: the Device table from the inventory file (DOJO_CLUSTER), or,
with --from-kubernetes, GPU pools discovered from the cluster's labelled nodes first.

Discovery lists nodes through the official kubernetes client (in-cluster credentials, else
a kubeconfig) with the label selector `dojo.ai/gpu-type`, maps them (scheduling.discovery,
pure) and writes an inventory: the Dojo trays of DOJO_CLUSTER (no node carries those) plus
the discovered `gpu_pools`. Written over DOJO_CLUSTER itself, the Device table follows; to
another file or `-` (stdout), nothing else changes until DOJO_CLUSTER names it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import urllib3
import yaml
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dojo_runtime.specs import accelerator_figures
from dojocloud.scheduling.capacity import sync_inventory
from dojocloud.scheduling.discovery import SELECTOR, DiscoveryError, gpu_pools_from_nodes
from scheduler.inventory import InventoryError, load_inventory, parse_inventory


class Command(BaseCommand):
    help = "Sync devices from the inventory; --from-kubernetes discovers the GPU pools first."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from-kubernetes", action="store_true")
        parser.add_argument(
            "--output", help="inventory to write (- for stdout); default DOJO_CLUSTER"
        )
        parser.add_argument(
            "--kubeconfig", help="kubeconfig outside a cluster (default ~/.kube/config)"
        )
        parser.add_argument("--label-selector", default=SELECTOR)

    def handle(self, *args: Any, **options: Any) -> None:
        cluster = Path(settings.CLUSTER_FILE)
        if options["from_kubernetes"]:
            output = options["output"] or str(cluster)
            self._discover(cluster, output, options)
            if output == "-" or Path(output).resolve() != cluster.resolve():
                return
        elif options["output"]:
            raise CommandError("--output is for --from-kubernetes")
        try:
            devices = sync_inventory(load_inventory(cluster))
        except InventoryError as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(f"devices in inventory: {devices} ({cluster})")

    def _discover(self, cluster: Path, output: str, options: dict[str, Any]) -> None:
        nodes = _list_nodes(options["kubeconfig"], options["label_selector"])
        known = {name for name, f in accelerator_figures().items() if f.kind == "gpu"}
        try:
            found = gpu_pools_from_nodes(nodes, known)
        except DiscoveryError as exc:
            raise CommandError(str(exc)) from None
        static = yaml.safe_load(cluster.read_text(encoding="utf-8")) or {}
        merged = {**static, "gpu_pools": found.gpu_pools}
        try:
            parse_inventory(merged)  # what the processes will load must load
        except InventoryError as exc:
            raise CommandError(f"the discovered inventory does not load: {exc}") from None
        stamp = datetime.now(UTC).replace(microsecond=0).isoformat()
        text = (
            f"# GPU pools discovered from Kubernetes nodes labelled {options['label_selector']} "
            f"by manage.py sync_inventory --from-kubernetes at {stamp};\n# Dojo trays from "
            f"{cluster.name}.\n" + yaml.safe_dump(merged, sort_keys=False)
        )
        for line in found.left_out:
            self.stderr.write(f"left out {line}")
        summary = ", ".join(
            f"{p['pool']} {p['rack']}: {p['nodes']}x{p['gpus_per_node']}" for p in found.gpu_pools
        )
        self.stderr.write(f"discovered {len(found.gpu_pools)} node groups: {summary or 'none'}")
        if output == "-":
            self.stdout.write(text, ending="")
        else:
            Path(output).write_text(text, encoding="utf-8")
            self.stderr.write(f"wrote {output}")


def _list_nodes(kubeconfig: str | None, selector: str) -> list[Any]:
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    try:
        if kubeconfig:
            config.load_kube_config(config_file=kubeconfig)
        else:
            try:
                config.load_incluster_config()
            except ConfigException:
                config.load_kube_config()
    except (ConfigException, OSError) as exc:
        raise CommandError(f"no Kubernetes credentials (in-cluster or kubeconfig): {exc}") from None
    api = client.CoreV1Api()
    try:
        return list(api.list_node(label_selector=selector, _request_timeout=30).items)
    except client.ApiException as exc:
        raise CommandError(f"listing nodes failed: {exc.status} {exc.reason}") from None
    except (OSError, urllib3.exceptions.HTTPError) as exc:  # refused, timed out, retries spent
        raise CommandError(f"the Kubernetes API did not answer: {exc}") from None
