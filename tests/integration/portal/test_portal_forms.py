"""The new-job form tells the truth: every error on one render (what did not parse and what
the validator says of the rest), nothing a user sent silently dropped to a default, and
each architecture's parameters as fields of their own. Plus the reference page."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from dojocloud.jobs.models import Job
from dojocloud.jobs.services import spec_of
from dojocloud.jobs.validation import ARCHITECTURE_CATALOG, DATASET_CATALOG

pytestmark = pytest.mark.django_db


def _violations(page: str) -> list[str]:
    return re.findall(r'data-violation="([^"]+)"', page)


def test_six_bad_fields_are_six_errors_on_one_render(alice_client: Client, form_post) -> None:
    form_post.update(
        name="Bad Name!",
        steps="0",
        learning_rate="-1",
        accelerators=[],
        count="0",
        param_mlp_depth="3",
    )
    response = alice_client.post("/jobs/new/", form_post)
    page = response.content.decode()
    assert response.status_code == 400 and not Job.objects.exists()
    assert sorted(_violations(page)) == sorted(
        [
            "name",
            "training.steps",
            "training.learning_rate",
            "resources.accelerators",
            "resources.count",
            "model.params.depth",
        ]
    ), page
    assert "these 6 fields" in page
    # Each one also beside its field (the unknown parameter has none: it is in the list).
    for field in ("name", "steps", "learning_rate", "accelerators", "count"):
        assert f'has-error" id="field-{field}"' in page, field


def test_no_accelerator_ticked_is_an_error_not_the_default(alice_client: Client, form_post) -> None:
    form_post["accelerators"] = []
    page = alice_client.post("/jobs/new/", form_post).content.decode()
    assert _violations(page) == ["resources.accelerators"]
    assert "choose at least one accelerator type" in page and not Job.objects.exists()


@pytest.mark.parametrize("count", ["0", ""])
def test_a_zero_or_empty_count_is_an_error(alice_client: Client, form_post, count: str) -> None:
    form_post["count"] = count
    page = alice_client.post("/jobs/new/", form_post).content.decode()
    assert _violations(page) == ["resources.count"] and not Job.objects.exists()


def test_an_unknown_parameter_is_named_not_dropped(alice_client: Client, form_post) -> None:
    form_post["param_mlp_depth"] = "3"
    page = alice_client.post("/jobs/new/", form_post).content.decode()
    assert _violations(page) == ["model.params.depth"]
    assert "mlp has no parameter &#x27;depth&#x27;" in page and not Job.objects.exists()


def test_only_the_chosen_architectures_parameters_are_read(alice_client: Client, form_post) -> None:
    # The gpt fields are on the page too (all groups show without script): ignored for mlp.
    form_post.update(param_gpt_d_model="99999", param_gpt_heads="7")
    response = alice_client.post("/jobs/new/", form_post)
    assert response.status_code == 302
    assert dict(spec_of(Job.objects.get()).model.params) == {"hidden": 64, "layers": 3}


def test_a_parameter_out_of_its_limits_is_shown_at_its_field(
    alice_client: Client, form_post
) -> None:
    form_post.update(architecture="cnn", dataset="digits", param_cnn_channels="9999")
    page = alice_client.post("/jobs/new/", form_post).content.decode()
    assert _violations(page) == ["model.params.channels"]
    assert 'has-error" id="field-param_cnn_channels"' in page
    assert "must be between 4 and 512, got 9999" in page


def test_every_architecture_has_its_parameter_fields(alice_client: Client) -> None:
    page = alice_client.get("/jobs/new/").content.decode()
    for arch, info in ARCHITECTURE_CATALOG.items():
        assert f'data-arch-fields="{arch}"' in page, arch
        for name, spec in info.params.items():
            field = re.search(rf'<input[^>]*name="param_{arch}_{name}"[^>]*>', page)
            assert field is not None, (arch, name)
            assert f'min="{spec.minimum}"' in field.group(0)
            assert f'max="{spec.maximum}"' in field.group(0)
    assert "data-arch-switch" in page and "<script>" not in page  # no inline script


def test_the_estimate_lists_every_error_too(alice_client: Client, form_post) -> None:
    form_post.update(steps="x", accelerators=[], param_mlp_depth="1")
    page = alice_client.post("/jobs/estimate/", form_post).content.decode()
    for path in ("training.steps", "resources.accelerators", "model.params.depth"):
        assert f"<code>{path}</code>" in page, path


def test_reference_lists_architectures_with_limits_and_datasets(alice_client: Client) -> None:
    page = alice_client.get("/reference/").content.decode()
    for arch, info in ARCHITECTURE_CATALOG.items():
        assert f'data-architecture="{arch}"' in page
        for name, spec in info.params.items():
            row = re.search(rf'data-param="{arch}\.{name}">(.*?)</tr>', page, re.S)
            assert row is not None, (arch, name)
            cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
            assert cells[1:4] == [str(spec.default), str(spec.minimum), str(spec.maximum)]
    for name in DATASET_CATALOG:
        assert f'data-dataset="{name}"' in page
    assert "Language model" in page


def test_reference_needs_a_login(client: Client) -> None:
    assert client.get("/reference/").status_code == 302


def test_a_number_too_large_for_the_spec_is_a_field_error(alice_client: Client, form_post) -> None:
    form_post.update(steps=str(10**30), param_mlp_hidden=str(10**20), param_mlp_depth=str(10**25))
    response = alice_client.post("/jobs/new/", form_post)
    page = response.content.decode()
    assert response.status_code == 400 and not Job.objects.exists()
    assert sorted(_violations(page)) == [
        "model.params.depth",
        "model.params.hidden",
        "training.steps",
    ]
