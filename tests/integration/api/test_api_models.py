"""ModelService on a real gRPC server and database, storage in a temporary folder, through
the SDK and the `dojo models` CLI: the resumable upload, the graph imported at upload (an
unsupported operator refused naming the node), a job spec naming the model (checked against
the dataset's shapes, estimated), another organization's NOT_FOUND on every RPC (estimates
and jobs included), deletion refused while a job uses the model, and the shared quota."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import grpc
import onnx
import pytest
import torch
from onnx import helper

from dojo import cli, errors
from dojo.client import Client
from dojo.uploads import derived_upload_id
from dojo.v1 import model_pb2, model_pb2_grpc
from dojocloud.datasets.models import OnnxModel
from tests.integration.api.conftest import Keys
from tests.support.onnx_models import MLP, export, tiny_onnx
from tests.support.people import make_spec

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def storage(settings: object, tmp_path: Path) -> Path:
    root = tmp_path / "storage"
    settings.STORAGE_URL = root.as_uri()  # type: ignore[attr-defined]
    settings.CACHE_DIR = tmp_path / "cache"  # type: ignore[attr-defined]
    return root


def write(tmp_path: Path, payload: bytes, name: str = "net.onnx") -> Path:
    path = tmp_path / name
    path.write_bytes(payload)
    return path


def mlp_onnx() -> bytes:
    torch.manual_seed(0)
    return export(MLP(), torch.randn(2, 1, 8, 8))  # digits: [batch, 1, 8, 8] -> 10 classes


def onnx_spec(name: str, model: str) -> object:
    spec = make_spec(name)
    spec.model.Clear()
    spec.model.onnx = model
    return spec


def raw_stream(
    address: str, key: str, meta: model_pb2.ModelUploadMetadata, chunks: list[bytes]
) -> model_pb2.Model:
    def messages() -> Iterator[model_pb2.CreateModelRequest]:
        yield model_pb2.CreateModelRequest(metadata=meta)
        for c in chunks:
            yield model_pb2.CreateModelRequest(chunk=c)

    with grpc.insecure_channel(address) as channel:
        return model_pb2_grpc.ModelServiceStub(channel).CreateModel(  # type: ignore[no-any-return]
            messages(), timeout=30, metadata=[("authorization", f"Bearer {key}")]
        )


def test_upload_get_list_estimate_and_a_job(acme: Client, tmp_path: Path, storage: Path) -> None:
    path = write(tmp_path, mlp_onnx())
    seen: list[int] = []
    m = acme.create_model(path, "digits-mlp", on_progress=lambda done, total: seen.append(done))
    assert m.name == "organizations/acme/models/digits-mlp"
    assert [(t.name, list(t.shape)) for t in m.inputs] == [("x", ["batch", "1", "8", "8"])]
    assert m.op_counts["Gemm"] == 2 and m.parameters == 64 * 32 + 32 + 32 * 10 + 10
    assert m.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert seen[-1] == path.stat().st_size
    assert [x.name for x in acme.list_models()] == [m.name]
    assert acme.create_model(path, "digits-mlp").name == m.name  # the same upload: done
    spec = onnx_spec("on-onnx", m.name)
    assert all(row.step_seconds > 0 for row in acme.estimate_job(spec))
    job = acme.create_job(spec)
    assert job.spec.model.onnx == m.name and job.spec.model.task == "classification"


def test_a_model_that_does_not_fit_the_data_names_the_field(acme: Client, tmp_path: Path) -> None:
    torch.manual_seed(0)
    small = export(MLP(features=16), torch.randn(2, 1, 4, 4))
    m = acme.create_model(write(tmp_path, small), "small")
    with pytest.raises(errors.InvalidArgumentError) as info:
        acme.create_job(onnx_spec("misfit", m.name))
    fields = {v.field: v.description for v in info.value.field_violations}
    assert "input 'x' is ['batch', 1, 4, 4]" in fields["model.onnx"]
    spec = onnx_spec("both", m.name)
    spec.model.architecture = "mlp"
    spec.model.task = "segmentation"  # not a task (regression is one now)
    with pytest.raises(errors.InvalidArgumentError) as info:
        acme.create_job(spec)
    assert {v.field for v in info.value.field_violations} >= {"model.architecture", "model.task"}


def test_a_truncated_upload_resumes_and_an_unsupported_operator_is_refused(
    acme: Client, keys: Keys, address: str, tmp_path: Path, storage: Path
) -> None:
    payload = mlp_onnx()
    path = write(tmp_path, payload)
    upload_id = derived_upload_id(
        "", "model:resumed", len(payload), hashlib.sha256(payload).hexdigest()
    )
    meta = model_pb2.ModelUploadMetadata(
        model_id="resumed",
        size=len(payload),
        sha256=hashlib.sha256(payload).hexdigest(),
        upload_id=upload_id,
    )
    with pytest.raises(grpc.RpcError) as info:
        raw_stream(address, keys.acme, meta, [payload[:1000]])
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert acme.get_model_upload_status(upload_id).committed_offset == 1000
    sent: list[int] = []
    assert acme.create_model(path, "resumed", on_progress=lambda a, b: sent.append(a)).parameters
    assert sent[0] == 1000  # it started where the server's committed offset was

    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", 4])
    node = helper.make_node("Hardmax", ["x"], ["y"], name="odd_one")
    odd = helper.make_model(
        helper.make_graph([node], "g", [x], [y]), opset_imports=[helper.make_opsetid("", 17)]
    )
    with pytest.raises(errors.InvalidArgumentError) as refused:
        acme.create_model(write(tmp_path, odd.SerializeToString(), "odd.onnx"), "odd")
    (violation,) = refused.value.field_violations
    assert violation.field == "file" and "node 'odd_one' (Hardmax)" in violation.description
    assert OnnxModel.objects.count() == 1  # nothing stored for the refused file


def test_another_organization_gets_not_found_everywhere(
    acme: Client, globex: Client, tmp_path: Path
) -> None:
    m = acme.create_model(write(tmp_path, mlp_onnx()), "private")
    spec = onnx_spec("steal", m.name)
    calls = [
        lambda: globex.get_model(m.name),
        lambda: globex.delete_model(m.name),
        lambda: globex.list_models_page(parent="organizations/acme"),
        lambda: globex.estimate_job(spec),
        lambda: globex.create_job(spec),
    ]
    for call in calls:
        with pytest.raises(errors.NotFoundError):
            call()
    assert list(globex.list_models()) == []


def test_delete_waits_for_the_jobs_that_use_it_and_the_quota_is_shared(
    acme: Client, tmp_path: Path, storage: Path, settings: object
) -> None:
    m = acme.create_model(write(tmp_path, mlp_onnx()), "used")
    job = acme.create_job(onnx_spec("user", m.name))
    with pytest.raises(errors.FailedPreconditionError) as info:
        acme.delete_model(m.name)
    assert job.name in info.value.message and info.value.reason == "MODEL_IN_USE"
    acme.cancel_job(job.name)
    acme.delete_model(m.name)
    with pytest.raises(errors.NotFoundError):
        acme.get_model(m.name)
    assert not any(p.is_file() for p in storage.rglob("*"))
    tiny = write(tmp_path, tiny_onnx(), "tiny.onnx")
    settings.STORAGE_QUOTA_BYTES = tiny.stat().st_size + 10  # type: ignore[attr-defined]
    acme.create_model(tiny, "fits")
    with pytest.raises(errors.ResourceExhaustedError):
        acme.create_model(tiny, "over")  # models count against the datasets' quota too


def test_the_cli_uploads_lists_shows_and_deletes(
    keys: Keys, address: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--server", address, "--api-key", keys.acme, "--timeout", "30"]
    path = write(tmp_path, tiny_onnx())
    assert cli.main([*common, "models", "upload", str(path), "--name", "cli-net"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "organizations/acme/models/cli-net" and "upload" in err  # the bar
    assert cli.main([*common, "models", "upload", str(path), "--name", "cli-net"]) == 0
    assert capsys.readouterr().out.strip() == "organizations/acme/models/cli-net"  # resumed: done
    assert cli.main([*common, "models", "list"]) == 0
    assert "organizations/acme/models/cli-net" in capsys.readouterr().out
    assert cli.main([*common, "models", "get", "organizations/acme/models/cli-net"]) == 0
    shown = capsys.readouterr().out
    assert "x [batch, 4] float32" in shown and "Gemm 1, Relu 1" in shown
    assert cli.main([*common, "models", "delete", "organizations/acme/models/cli-net"]) == 0
    assert "deleted" in capsys.readouterr().out
