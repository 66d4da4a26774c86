"""One model of every architecture, each on a dataset it accepts, sized by a few knobs.

The catalog's tests train a small set and the training benchmark a larger one; both come
from here, so a new architecture joins both by one entry.
"""

from __future__ import annotations

from dojo_runtime.config import TrainConfig

SAMPLE_DATASETS = {
    "mlp": "digits",
    "cnn": "digits",
    "gpt": "tiny-shakespeare",
    "vit": "synthetic-images",
    "video": "synthetic-video",
}


# The spec CreateJob used to accept before admission knew memory: 4.1e11 parameters (6.6 TB
# of bf16 + Adam state), batch 65,536, 10 million steps. No device holds it; the memory tests
# and the uncached-estimate benchmark refuse it.
OVERSIZED_GPT = TrainConfig(
    "gpt",
    {"d_model": 16384, "layers": 128, "heads": 128, "context": 8192},
    "tiny-shakespeare",
    steps=10_000_000,
    batch_size=65_536,
    precision="bf16",
)


def sample_models(
    *, d_model: int, layers: int, heads: int, context: int, mlp_hidden: int, patch: int = 4
) -> dict[str, tuple[dict[str, int], str]]:
    """architecture -> (model params, dataset). The transformers share `d_model`, `layers`
    and `heads`; the CNN has d_model / 4 channels and `layers` blocks; the MLP keeps two
    hidden layers of `mlp_hidden`."""
    transformer = {"d_model": d_model, "layers": layers, "heads": heads}
    params = {
        "mlp": {"hidden": mlp_hidden, "layers": 2},
        "cnn": {"channels": d_model // 4, "blocks": layers},
        "gpt": {**transformer, "context": context},
        "vit": {**transformer, "patch": patch},
        "video": {**transformer, "patch": patch},
    }
    return {arch: (p, SAMPLE_DATASETS[arch]) for arch, p in params.items()}
