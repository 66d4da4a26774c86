"""Submitting jobs from the portal: the form and YAML go through the same service as gRPC,
errors come back by field name, and the user's input is kept."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Job

pytestmark = pytest.mark.django_db


def test_pages_require_login(client: Client) -> None:
    for url in ("/jobs/", "/jobs/new/", "/keys/", "/jobs/abc/", "/jobs/abc/events.json"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next="), url


def test_login_with_password_lands_on_jobs(client: Client, alice) -> None:
    response = client.post("/login/", {"username": "alice", "password": "correct horse battery"})
    assert response.status_code == 302 and response["Location"] == "/jobs/"
    assert "Acme Robotics" in client.get("/jobs/").content.decode()
    bad = Client().post("/login/", {"username": "alice", "password": "wrong"})
    assert bad.status_code == 200 and "errorlist" in bad.content.decode()


def test_submit_from_form_creates_the_spec_typed(alice_client: Client, form_post) -> None:
    response = alice_client.post("/jobs/new/", form_post)
    job = Job.objects.get(name="form-job")
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.id}/"
    assert job.organization.slug == "acme" and job.state == "QUEUED"
    spec = jobs.spec_of(job)
    assert dict(spec.model.params) == {"hidden": 64, "layers": 3}
    t = spec.training
    assert (t.optimizer, t.precision, t.learning_rate, t.steps) == ("sgd", "cfp8", 0.05, 200)
    assert (list(spec.resources.accelerators), spec.resources.count) == (["dojo-tile"], 2)
    page = alice_client.get(response["Location"]).content.decode()
    assert "form-job" in page and "QUEUED" in page and "submitted" in page


def test_form_field_errors_are_shown_by_field_and_input_kept(
    alice_client: Client, form_post
) -> None:
    form_post.update(name="Bad Name!", learning_rate="-1", steps="0")
    response = alice_client.post("/jobs/new/", form_post)
    page = response.content.decode()
    assert response.status_code == 400
    assert not Job.objects.exists()
    for field in ("name", "learning_rate", "steps"):
        block = re.search(rf'id="field-{field}">(.*?)</div>\s*</div>', page, re.S)
        assert block is not None and "field-error" in block.group(0), field
        assert 'has-error" id="field-' + field in page
    assert "greater than 0" in page  # the service's own message
    assert 'value="Bad Name!"' in page and 'value="-1"' in page
    assert 'name="param_mlp_hidden" value="64"' in page


def test_form_type_errors_show_with_the_services_errors(alice_client: Client, form_post) -> None:
    form_post.update(param_mlp_hidden="lots", count="two", steps="0")
    response = alice_client.post("/jobs/new/", form_post)
    page = response.content.decode()
    assert response.status_code == 400 and not Job.objects.exists()
    assert "Enter a whole number." in page  # the two that did not parse
    assert 'value="two"' in page and 'value="lots"' in page
    # ...and on the same render, what the service says about the rest
    assert 'data-violation="training.steps"' in page
    assert 'data-violation="model.params.hidden"' in page
    assert 'data-violation="resources.count"' in page
    assert "these 3 fields" in page


def test_submit_pasted_yaml(alice_client: Client, digits_yaml: str) -> None:
    response = alice_client.post("/jobs/new/", {"mode": "yaml", "spec_yaml": digits_yaml})
    job = Job.objects.get()
    assert response["Location"] == f"/jobs/{job.id}/"
    spec = jobs.spec_of(job)
    assert (job.name, spec.training.seed, spec.training.precision) == ("digits-mlp", 7, "bf16")


def test_submit_uploaded_yaml_file(alice_client: Client, digits_yaml: str) -> None:
    upload = SimpleUploadedFile(
        "digits.yaml",
        digits_yaml.replace("name: digits-mlp", "name: uploaded").encode(),
        content_type="text/yaml",
    )
    response = alice_client.post("/jobs/new/", {"mode": "yaml", "spec_file": upload})
    assert response.status_code == 302
    assert Job.objects.get().name == "uploaded"


def test_yaml_errors_are_listed_by_key_and_text_kept(
    alice_client: Client, digits_yaml: str
) -> None:
    bad_shape = digits_yaml.replace("training:", "trainin:")
    response = alice_client.post("/jobs/new/", {"mode": "yaml", "spec_yaml": bad_shape})
    page = response.content.decode()
    assert response.status_code == 400 and not Job.objects.exists()
    assert "<code>trainin</code>" in page and "unknown key" in page
    assert "trainin:\n  steps: 300" in page  # the textarea keeps the text

    bad_value = digits_yaml.replace("steps: 300", "steps: 0")
    page = alice_client.post(
        "/jobs/new/", {"mode": "yaml", "spec_yaml": bad_value}
    ).content.decode()
    assert "<code>training.steps</code>" in page and not Job.objects.exists()


def test_same_request_id_makes_one_job(alice_client: Client, form_post) -> None:
    form_post["request_id"] = "double-click-1"
    first = alice_client.post("/jobs/new/", form_post)
    second = alice_client.post("/jobs/new/", form_post)
    assert Job.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_resubmit_prefills_the_form_from_a_job(alice_client: Client, submit, alice) -> None:
    job = submit(alice, "original")
    page = alice_client.get(f"/jobs/new/?from={job.id}").content.decode()
    assert 'value="original"' in page
    assert 'name="param_mlp_hidden" value="128"' in page
    assert 'name="param_mlp_layers" value="2"' in page
    assert 'value="0.003"' in page


def test_estimate_fragment_marks_cheapest_and_fastest(alice_client: Client, form_post) -> None:
    form_post["accelerators"] = ["dojo-tile", "gpu-a100"]
    page = alice_client.post("/jobs/estimate/", form_post).content.decode()
    assert "estimate-table" in page, page
    assert "tag cheapest" in page and "tag fastest" in page
    assert "dojo-tile" in page and "gpu-a100" in page
    # Memory per device beside time and cost (the digits MLP fits every device).
    assert "Memory per device" in page and " of 109 GiB</td>" in page
    assert " of 37.3 GiB</td>" in page and "does not fit" not in page


def test_estimate_fragment_names_a_model_no_device_holds(alice_client: Client) -> None:
    spec = (
        "name: huge\nmodel:\n  architecture: gpt\n"
        "  params: {d_model: 16384, layers: 128, heads: 128, context: 8192}\n"
        "dataset: {name: tiny-shakespeare}\n"
        "training: {steps: 10, batch_size: 65536, learning_rate: 0.001, precision: bf16}\n"
    )
    page = alice_client.post(
        "/jobs/estimate/", {"mode": "yaml", "spec_yaml": spec}
    ).content.decode()
    assert "<code>model.params</code>" in page and "has 109 GiB" in page, page
    assert "estimate-table" not in page


def test_estimate_fragment_lists_bad_fields(alice_client: Client, digits_yaml: str) -> None:
    page = alice_client.post(
        "/jobs/estimate/",
        {
            "mode": "yaml",
            "spec_yaml": digits_yaml.replace("batch_size: 64", "batch_size: 0"),
        },
    ).content.decode()
    assert "<code>training.batch_size</code>" in page and "estimate-table" not in page


@pytest.mark.parametrize("url", ["portal:job-new", "portal:job-estimate"])
@pytest.mark.parametrize(
    ("yaml_text", "words"),
    [
        ("[" * 5000 + "]" * 5000, "nested deeper than 32 levels"),
        ("a: &a [*a]", "contains it"),
    ],
)
def test_deeply_nested_yaml_is_a_field_error(
    alice_client: Any, url: str, yaml_text: str, words: str
) -> None:
    response = alice_client.post(reverse(url), {"mode": "yaml", "spec_yaml": yaml_text})
    assert response.status_code in (200, 400)
    assert words in response.content.decode()


def test_an_upload_that_is_not_utf8_is_a_field_error(alice_client: Any) -> None:
    upload = SimpleUploadedFile("latin1.yaml", "name: café\n".encode("latin-1"))
    response = alice_client.post(reverse("portal:job-new"), {"mode": "yaml", "spec_file": upload})
    assert response.status_code == 400
    assert "latin1.yaml: is not UTF-8 text" in response.content.decode()
