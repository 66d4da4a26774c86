"""`dojo jobs artifacts JOB` and `dojo jobs download JOB -o DIR`: a job's artifacts (weights,
ONNX model, metrics, spec, checkpoints), listed, and downloaded with a progress bar, each
file checked against the sha256 the server sent before it is renamed into place."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from google.protobuf import json_format
from tqdm import tqdm

from dojo import render
from dojo.artifacts import artifact_id
from dojo.cli_groups import AddCommand
from dojo.client import Client
from dojo.v1 import artifact_pb2


def register(command: AddCommand, ref: str) -> None:
    """Adds the two commands to the `jobs` group (`command` is its command adder)."""
    listing = command("artifacts", "list a job's artifacts", cmd_artifacts)
    listing.add_argument("name", help=ref)
    download = command(
        "download", "download a job's artifacts into a folder, checking each sha256", cmd_download
    )
    download.add_argument("name", help=ref)
    # `-o DIR` as the issue spells it: here -o is the folder, and the output format keeps
    # its long form (--output json). "resolve" takes -o from --output for this command only.
    download.conflict_handler = download._optionals.conflict_handler = "resolve"
    download.add_argument(
        "-o", "--dir", required=True, help="folder to write into (created if missing)"
    )


def cmd_artifacts(client: Client, args: argparse.Namespace, output: str) -> int:
    print(listing(list(client.list_artifacts(args.name)), output))
    return 0


def cmd_download(client: Client, args: argparse.Namespace, output: str) -> int:
    items = list(client.list_artifacts(args.name))
    total = sum(a.size_bytes for a in items)
    bar = tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        file=sys.stderr,
        disable=output == "json",
    )
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    done_before = 0
    written: list[tuple[artifact_pb2.Artifact, Path]] = []
    try:
        for artifact in items:
            bar.set_description(artifact_id(artifact.name))

            def progress(done: int, _total: int, before: int = done_before) -> None:
                bar.n = before + done
                bar.refresh()

            target = folder / artifact_id(artifact.name)
            client.download_artifact(artifact.name, target, on_progress=progress)
            done_before += artifact.size_bytes
            written.append((artifact, target))
    finally:
        bar.close()
    if output == "json":
        print(
            json.dumps([{"name": a.name, "path": str(p), "sha256": a.sha256} for a, p in written])
        )
    else:
        for a, p in written:
            print(f"{p}  sha256 {a.sha256} ok")
    return 0


def listing(items: Sequence[artifact_pb2.Artifact], output: str) -> str:
    if output == "json":
        return json.dumps(
            [json_format.MessageToDict(a, preserving_proto_field_name=True) for a in items],
            indent=2,
        )
    if not items:
        return "no artifacts (a job has them once it SUCCEEDED)"
    rows = [("ARTIFACT", "SIZE", "SHA256", "EXPIRES")]
    rows += [
        (
            artifact_id(a.name),
            render.binary_bytes(a.size_bytes),
            a.sha256[:16],
            a.expire_time.ToDatetime().strftime("%Y-%m-%d") if a.HasField("expire_time") else "-",
        )
        for a in items
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
