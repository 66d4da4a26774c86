"""`dojo models`: upload, list, show and delete the organization's ONNX models.

    dojo models upload FILE --name ID     prints organizations/{org}/models/{ID}
    dojo models list                      dojo models get NAME        dojo models delete NAME

FILE is an .onnx file (weights inside it). The server imports the graph at upload: an
operator outside the supported subset is refused naming the node and its op type. An
interrupted upload resumes when the same command runs again. NAME is
organizations/{org}/models/{ID}; a job names it in `model: {onnx: NAME, task: classification}`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from google.protobuf import json_format

from dojo import render
from dojo.cli_datasets import upload_bar
from dojo.cli_groups import AddCommon, command_group
from dojo.client import Client
from dojo.v1 import model_pb2


def register(
    groups: argparse._SubParsersAction[argparse.ArgumentParser],
    common: AddCommon,
    epilog: str,
) -> None:
    """Adds `dojo models ...` to the top-level parser's groups."""
    command = command_group(
        groups,
        common,
        epilog,
        name="models",
        help="upload, list, show and delete ONNX models",
        description=__doc__,
        client_class=Client,
    )
    upload = command(
        "upload", "upload an .onnx file as a model (resumes an interrupted one)", cmd_upload
    )
    upload.add_argument("file", help="an .onnx file with its weights inside")
    upload.add_argument("--name", required=True, help="the model id: 1-63 of a-z, 0-9, '-'")
    upload.add_argument("--display-name", default="", help="a label shown beside the id")
    command("list", "the organization's models", cmd_list)
    for name, help, run in (
        ("get", "a model's inputs, outputs and operators", cmd_get),
        ("delete", "delete a model no unfinished job uses", cmd_delete),
    ):
        command(name, help, run).add_argument("name", help="organizations/{org}/models/{id}")


def cmd_upload(client: Client, args: argparse.Namespace, output: str) -> int:
    with upload_bar(output) as progress:
        model = client.create_model(
            args.file, args.name, display_name=args.display_name, on_progress=progress
        )
    print(_one(model) if output == "json" else model.name)
    return 0


def cmd_list(client: Client, args: argparse.Namespace, output: str) -> int:
    print(listing(list(client.list_models()), output))
    return 0


def cmd_get(client: Client, args: argparse.Namespace, output: str) -> int:
    print(detail(client.get_model(args.name), output))
    return 0


def cmd_delete(client: Client, args: argparse.Namespace, output: str) -> int:
    client.delete_model(args.name)
    print(json.dumps({"deleted": args.name}) if output == "json" else f"deleted {args.name}")
    return 0


def _one(m: model_pb2.Model) -> str:
    return json.dumps(json_format.MessageToDict(m, preserving_proto_field_name=True), indent=2)


def _tensor(t: model_pb2.TensorInfo) -> str:
    return f"{t.name} [{', '.join(t.shape)}] {t.dtype}"


def listing(items: Sequence[model_pb2.Model], output: str) -> str:
    if output == "json":
        return json.dumps(
            [json_format.MessageToDict(m, preserving_proto_field_name=True) for m in items],
            indent=2,
        )
    if not items:
        return "no models"
    rows = [("NAME", "SIZE", "PARAMETERS", "INPUT")]
    rows += [
        (
            m.name,
            render.binary_bytes(m.size_bytes),
            f"{m.parameters:,}",
            _tensor(m.inputs[0]) if m.inputs else "",
        )
        for m in items
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def detail(m: model_pb2.Model, output: str) -> str:
    if output == "json":
        return _one(m)
    ops = ", ".join(f"{op} {n}" for op, n in sorted(m.op_counts.items()))
    rows = [
        ("name", m.name),
        ("size", f"{render.binary_bytes(m.size_bytes)} ({m.size_bytes} bytes)"),
        ("sha256", m.sha256),
        ("parameters", f"{m.parameters:,}"),
        ("opset", str(m.opset)),
        *[("input", _tensor(t)) for t in m.inputs],
        *[("output", _tensor(t)) for t in m.outputs],
        ("operators", ops),
    ]
    if m.display_name:
        rows.insert(1, ("label", m.display_name))
    return "\n".join(f"{k + ':':<12}{v}" for k, v in rows)
