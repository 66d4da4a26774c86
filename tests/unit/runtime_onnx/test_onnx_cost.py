"""Issue 16's check: ResNet-50 v1.5 built from the catalog (published.py) and the same
network written in plain torch, exported by torch.onnx.export and imported, cost the same:
the same kernels, so the same modelled step time on a Dojo tile and on GPUs. And an
imported model is estimated like a catalog one."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from dojo_runtime.catalog import parameter_count, parameter_split, step_profile
from dojo_runtime.catalog.published import PublishedWorkload, published_step_profile
from dojo_runtime.config import CustomData, TrainConfig
from dojo_runtime.devices import make_device
from dojo_runtime.estimate import estimate_config
from dojo_runtime.kernels import KernelCall
from tests.support.onnx_models import MLP, ResNet50, custom, export

BATCH = 8
RESNET_PARAMETERS = 25_557_032
IMAGENET_SHAPED = CustomData("npz", (3, 224, 224), 1000, 10_000, "0" * 64)


@pytest.fixture(scope="module")
def resnet_config() -> TrainConfig:
    torch.manual_seed(0)
    # Training mode keeps BatchNormalization (an eval export folds it into the convolutions).
    data = export(ResNet50(), torch.randn(1, 3, 224, 224), training=True)
    return TrainConfig(
        "onnx",
        dataset="organizations/acme/datasets/imagenet-shaped",
        dataset_meta=IMAGENET_SHAPED,
        custom_model=custom(data),
        batch_size=BATCH,
        optimizer="sgd",
        precision="fp32",
    )


def _totals(calls: list[KernelCall]) -> dict[tuple[str, str], tuple[float, float, int]]:
    count = Counter((c.kind, c.phase) for c in calls)
    return {
        key: (
            sum(c.flops for c in calls if (c.kind, c.phase) == key),
            sum(c.bytes_read + c.bytes_written for c in calls if (c.kind, c.phase) == key),
            n,
        )
        for key, n in count.items()
    }


def test_imported_resnet50_has_the_catalogs_parameters(resnet_config: TrainConfig) -> None:
    assert parameter_count(resnet_config) == RESNET_PARAMETERS
    split = parameter_split(resnet_config)
    assert split.total == RESNET_PARAMETERS and split.vector > 0


def test_imported_resnet50_costs_what_the_catalogs_resnet50_costs(
    resnet_config: TrainConfig,
) -> None:
    imported, imported_grad = step_profile(resnet_config)
    catalog, catalog_grad = published_step_profile(
        PublishedWorkload("resnet50", "resnet50", BATCH), "fp32"
    )
    assert imported_grad == catalog_grad == RESNET_PARAMETERS * 4
    ours, theirs = _totals(imported), _totals(catalog)
    assert ours.keys() == theirs.keys()
    for key in theirs:
        assert ours[key] == pytest.approx(theirs[key], rel=1e-9), key
    for accelerator in ("dojo-tile", "gpu-a100"):
        a = make_device(accelerator, 1, "fp32").run_step(imported, imported_grad)
        b = make_device(accelerator, 1, "fp32").run_step(catalog, catalog_grad)
        assert a == pytest.approx(b, rel=1e-9) and a > 0


def test_an_imported_model_is_estimated_and_cfp8_is_faster_on_dojo() -> None:
    model = custom(export(MLP(), torch.randn(2, 1, 8, 8)))
    rows = {
        p: estimate_config(
            TrainConfig("onnx", dataset="digits", custom_model=model, precision=p, steps=100),
            options=[("dojo-tile", 1)],
        )[0]
        for p in ("fp32", "cfp8")
    }
    assert rows["fp32"].total_seconds > 0 and rows["fp32"].peak_memory_bytes > 0
    assert rows["cfp8"].step_seconds < rows["fp32"].step_seconds


def test_the_offline_estimator_sends_an_uploaded_model_to_the_platform() -> None:
    from dojo_runtime.estimate import config_from_spec

    spec = {"model": {"onnx": "organizations/acme/models/net"}, "dataset": {"name": "digits"}}
    with pytest.raises(ValueError, match="model.onnx: an uploaded model is known to the platform"):
        config_from_spec(spec)
