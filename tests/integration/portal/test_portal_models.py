"""The Models pages: upload an .onnx file through a plain multipart form (the same upload
as datasets), an unsupported operator refused as a field error naming the node with nothing
stored, the list and the detail (inputs, outputs, op counts), delete refused while a job
uses the model, and another organization's model URLs 404."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from dojocloud.audit.facade import AuditEvent
from dojocloud.datasets.models import OnnxModel
from tests.integration.portal.test_portal_datasets import no_inline_script, signed_in, stored
from tests.support.onnx_models import tiny_onnx

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def storage(settings: Any, tmp_path: Path) -> Path:
    root = tmp_path / "storage"
    settings.STORAGE_URL = root.as_uri()
    settings.CACHE_DIR = tmp_path / "cache"
    return root


def post_model(client: Client, payload: bytes, model_id: str) -> Any:
    data = {"file": SimpleUploadedFile("net.onnx", payload), "model_id": model_id}
    return client.post("/models/upload/", data)


def test_upload_list_detail_and_delete(alice: User, storage: Path) -> None:
    client = signed_in(alice)
    response = post_model(client, tiny_onnx(features=4, classes=3), "tiny-net")
    assert response.status_code == 302 and response["Location"] == "/models/tiny-net/"
    listing = client.get("/models/").content.decode()
    assert "tiny-net" in listing and "x [batch, 4]" in listing
    no_inline_script(listing)
    detail = client.get("/models/tiny-net/").content.decode()
    assert "organizations/acme/models/tiny-net" in detail
    assert "x [batch, 4] float32" in detail and "y [batch, 3] float32" in detail
    assert ">Gemm<" in detail and ">Relu<" in detail  # op counts
    assert "15" in detail  # parameters: 3x4 weights + 3 biases
    assert client.post("/models/tiny-net/delete/").status_code == 302
    assert not OnnxModel.objects.exists() and stored(storage) == []
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"model.created", "model.deleted"} <= actions


def test_an_unsupported_operator_is_a_field_error_and_stores_nothing(
    alice: User, storage: Path
) -> None:
    import onnx
    from onnx import helper

    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", 4])
    graph = helper.make_graph([helper.make_node("Hardmax", ["x"], ["y"], name="hm")], "g", [x], [y])
    payload = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    response = post_model(signed_in(alice), payload.SerializeToString(), "odd")
    assert response.status_code == 400
    assert "node &#x27;hm&#x27; (Hardmax)" in response.content.decode()
    assert not OnnxModel.objects.exists() and stored(storage) == []


def test_another_organizations_model_is_404(alice: User, bob: User) -> None:
    assert post_model(signed_in(alice), tiny_onnx(), "secret").status_code == 302
    client = signed_in(bob)
    assert client.get("/models/secret/").status_code == 404
    assert client.post("/models/secret/delete/").status_code == 404
    assert "secret" not in client.get("/models/").content.decode()


def test_the_job_form_picks_a_model_and_copies_a_job_on_it(
    alice: User, form_post: dict[str, object]
) -> None:
    import torch

    from dojocloud.jobs.models import Job
    from tests.support.onnx_models import MLP, export

    client = signed_in(alice)
    torch.manual_seed(0)
    assert post_model(client, export(MLP(), torch.randn(2, 1, 8, 8)), "mlp").status_code == 302
    form = client.get("/jobs/new/").content.decode()
    assert '<option value="organizations/acme/models/mlp">' in form  # the picker's list
    # The form's "uploaded ONNX model" choice: model.onnx and model.task, no parameters.
    posted = {**form_post, "name": "on-onnx", "architecture": "onnx", "count": "1"}
    posted.update(onnx_model="organizations/acme/models/mlp", task="regression")
    refused = client.post("/jobs/new/", posted)
    assert refused.status_code == 400  # digits holds labels: the task is named
    body = refused.content.decode()
    assert 'data-violation="model.task"' in body
    posted["task"] = "classification"
    assert client.post("/jobs/new/", posted).status_code == 302
    job = Job.objects.get(name="on-onnx")
    assert job.spec["model"]["onnx"] == "organizations/acme/models/mlp"
    detail = client.get("/models/mlp/").content.decode()
    assert job.id in detail  # the jobs that use it
    # "Copy as new" opens the form on the same model and task.
    page = client.get(f"/jobs/new/?from={job.id}").content.decode()
    assert '<option value="onnx" selected>' in page
    assert 'value="organizations/acme/models/mlp"' in page
    assert '<option value="classification" selected>' in page
    deleted = client.post("/models/mlp/delete/", follow=True).content.decode()
    assert "Not deleted" in deleted and job.id in deleted  # in use by the job
