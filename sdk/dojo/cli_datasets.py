"""`dojo datasets`: upload, list, show and delete the organization's datasets.

    dojo datasets upload FILE --name ID [--format npz|text]   prints organizations/{org}/datasets/{ID}
    dojo datasets list                 dojo datasets get NAME        dojo datasets delete NAME

FILE is an .npz with x (float32, [N, ...], images channels-first) and y (int64, [N]), or a
UTF-8 text corpus. An interrupted upload resumes when the same command runs again.
NAME is organizations/{org}/datasets/{ID}. A job names a dataset in `dataset: {name: NAME}`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator, Sequence

from google.protobuf import json_format
from tqdm import tqdm

from dojo import render
from dojo.cli_groups import AddCommon, command_group
from dojo.client import Client
from dojo.uploads import Progress
from dojo.v1 import dataset_pb2


def register(
    groups: argparse._SubParsersAction[argparse.ArgumentParser],
    common: AddCommon,
    epilog: str,
) -> None:
    """Adds `dojo datasets ...` to the top-level parser's groups."""
    command = command_group(
        groups,
        common,
        epilog,
        name="datasets",
        help="upload, list, show and delete datasets",
        description=__doc__,
        client_class=Client,
    )

    upload = command(
        "upload", "upload a file as a dataset (resumes an interrupted one)", cmd_upload
    )
    upload.add_argument("file", help=".npz arrays or a UTF-8 text file")
    upload.add_argument("--name", required=True, help="the dataset id: 1-63 of a-z, 0-9, '-'")
    upload.add_argument("--format", choices=["npz", "text"], help="default: from the suffix")
    upload.add_argument("--display-name", default="", help="a label shown beside the id")
    command("list", "the organization's datasets", cmd_list)
    for name, help, run in (
        ("get", "a dataset's shapes, classes and size", cmd_get),
        ("delete", "delete a dataset no unfinished job uses", cmd_delete),
    ):
        command(name, help, run).add_argument("name", help="organizations/{org}/datasets/{id}")


@contextlib.contextmanager
def upload_bar(output: str) -> Iterator[Progress]:
    """A progress bar on stderr (none for JSON output) and the callback that moves it."""
    bar = tqdm(
        total=0,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        file=sys.stderr,
        disable=output == "json",
        desc="upload",
    )

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield progress
    finally:
        bar.close()


def cmd_upload(client: Client, args: argparse.Namespace, output: str) -> int:
    with upload_bar(output) as progress:
        dataset = client.create_dataset(
            args.file,
            args.name,
            format=args.format,
            display_name=args.display_name,
            on_progress=progress,
        )
    print(_one(dataset) if output == "json" else dataset.name)
    return 0


def cmd_list(client: Client, args: argparse.Namespace, output: str) -> int:
    print(listing(list(client.list_datasets()), output))
    return 0


def cmd_get(client: Client, args: argparse.Namespace, output: str) -> int:
    print(detail(client.get_dataset(args.name), output))
    return 0


def cmd_delete(client: Client, args: argparse.Namespace, output: str) -> int:
    client.delete_dataset(args.name)
    print(json.dumps({"deleted": args.name}) if output == "json" else f"deleted {args.name}")
    return 0


def _one(d: dataset_pb2.Dataset) -> str:
    return json.dumps(json_format.MessageToDict(d, preserving_proto_field_name=True), indent=2)


def _format(d: dataset_pb2.Dataset) -> str:
    return dataset_pb2.DatasetFormat.Name(d.format).lower()


def _shape(d: dataset_pb2.Dataset) -> str:
    if d.format == dataset_pb2.NPZ:
        if d.targets:  # float32 y: regression targets
            return f"x {list(d.x_shape)}, {d.targets} float32 target(s)"
        return f"x {list(d.x_shape)}, {d.num_classes} classes"
    return f"{d.text_lines} lines"


def listing(items: Sequence[dataset_pb2.Dataset], output: str) -> str:
    if output == "json":
        return json.dumps(
            [json_format.MessageToDict(d, preserving_proto_field_name=True) for d in items],
            indent=2,
        )
    if not items:
        return "no datasets"
    rows = [("NAME", "FORMAT", "SIZE", "SHAPE")]
    rows += [(d.name, _format(d), render.binary_bytes(d.size_bytes), _shape(d)) for d in items]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def detail(d: dataset_pb2.Dataset, output: str) -> str:
    if output == "json":
        return _one(d)
    rows = [
        ("name", d.name),
        ("format", _format(d)),
        ("size", f"{render.binary_bytes(d.size_bytes)} ({d.size_bytes} bytes)"),
        ("sha256", d.sha256),
        ("shape", _shape(d)),
    ]
    if d.format == dataset_pb2.NPZ and not d.targets:
        rows.append(("classes", ", ".join(f"{i}: {n}" for i, n in enumerate(d.class_counts))))
    if d.display_name:
        rows.insert(1, ("label", d.display_name))
    return "\n".join(f"{k + ':':<11}{v}" for k, v in rows)
