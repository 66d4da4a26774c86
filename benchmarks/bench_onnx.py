"""Customer ONNX models against the catalog, measured in one run.

* onnx_train_samples_per_second_<precision>: Trainer throughput of an MLP exported by
  torch.onnx.export and imported (dojo_runtime.onnx_import) over the catalog's MLP of the
  same shape on the same data; ratio = imported / catalog (1.0: the converter costs nothing).
* onnx_resnet50_profile_seconds: parsing ResNet-50 v1.5's ONNX (224x224) and tracing its
  step's kernels (what an estimate of an imported model costs, uncached), over the catalog's
  published_step_profile of the same network.
* onnx_resnet50_upload_check_seconds: parse + check (one forward on meta tensors): what the
  server spends importing a 100 MB upload.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from benchmarks.report import bench
from dojo_runtime.catalog import step_profile
from dojo_runtime.catalog.published import PublishedWorkload, published_step_profile
from dojo_runtime.config import CustomData, TrainConfig
from dojo_runtime.onnx_import import check, parse
from dojo_runtime.training import Trainer
from tests.support.onnx_models import ResNet50, custom, export

STEPS = 40


def _sps(config: TrainConfig) -> float:
    trainer = Trainer(config)
    state = trainer.train(trainer.initial_state(), 5)  # warm-up
    t0 = time.perf_counter()
    trainer.train(state, 5 + STEPS)
    return config.batch_size * STEPS / (time.perf_counter() - t0)


def _training() -> None:
    torch.manual_seed(0)
    mlp = nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, 128),
        nn.ReLU(),
        nn.Linear(128, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )
    model = custom(export(mlp, torch.randn(2, 1, 8, 8)))
    for precision in ("fp32", "cfp8"):
        common = {"batch_size": 64, "precision": precision, "seed": 7}
        catalog_config = TrainConfig("mlp", {"hidden": 128, "layers": 2}, "digits", **common)  # type: ignore[arg-type]
        imported_config = TrainConfig("onnx", dataset="digits", custom_model=model, **common)  # type: ignore[arg-type]
        # Interleaved, best of three each: the machine is shared, so noise only slows a run.
        catalog = imported = 0.0
        for _ in range(3):
            catalog = max(catalog, _sps(catalog_config))
            imported = max(imported, _sps(imported_config))
        bench(f"onnx_train_samples_per_second_{precision}", imported, "samples/s", baseline=catalog)


def _resnet50() -> None:
    torch.manual_seed(0)
    data = export(ResNet50(), torch.randn(1, 3, 224, 224), training=True)
    meta = CustomData("npz", (3, 224, 224), 1000, 10_000, "0" * 64)
    t0 = time.perf_counter()
    published_step_profile(PublishedWorkload("r", "resnet50", 32), "fp32")
    catalog = time.perf_counter() - t0
    config = TrainConfig(
        "onnx",
        dataset="imagenet-shaped",
        dataset_meta=meta,
        custom_model=custom(data),
        batch_size=32,
    )
    t0 = time.perf_counter()
    step_profile(config)
    imported = time.perf_counter() - t0
    bench("onnx_resnet50_profile_seconds", imported, "s", baseline=catalog, bytes=len(data))
    t0 = time.perf_counter()
    check(parse(data))
    bench("onnx_resnet50_upload_check_seconds", time.perf_counter() - t0, "s", bytes=len(data))


def main() -> None:
    _training()
    _resnet50()


if __name__ == "__main__":
    main()
