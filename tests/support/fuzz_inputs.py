"""Hypothesis strategies for bad (and some good) input: JobSpecs at the proto level, and job
files as bytes (mutated YAML, other encodings, deep nesting, alias bombs, random bytes).

Valid model sizes are kept small: the estimator profiles a valid model, and a GPT-3-sized
one costs seconds; this fuzzes input handling, not the estimator's speed.
"""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import strategies as st

from dojo.v1 import job_pb2

INT64 = st.integers(-(2**63), 2**63 - 1)
INT32 = st.integers(-(2**31), 2**31 - 1)
_CHARS = st.characters(blacklist_categories=("Cs",))  # protobuf strings are valid UTF-8
TEXT = st.text(_CHARS, max_size=30)
HUGE = st.builds(
    lambda c, n: c * n, st.characters(blacklist_categories=("Cs",)), st.integers(1_000, 30_000)
)


def texts(*good: str) -> st.SearchStrategy[str]:
    """Mostly a good value, sometimes any text, rarely a huge one."""
    return st.one_of(st.sampled_from(good), TEXT, HUGE)


def ints(*good: int, wide: st.SearchStrategy[int] = INT64) -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from((*good, 0, -1)), wide)


FLOATS = st.one_of(
    st.sampled_from([0.001, 0.05, 1.0]),
    st.floats(allow_nan=True),
    st.sampled_from([0.0, -1.0, 10.0, 10.000001]),
)
PARAM_KEYS = texts("hidden", "layers", "channels", "blocks", "d_model", "heads", "context", "patch")
PARAM_VALUES = st.one_of(st.integers(1, 64), st.integers(1, 64), INT64)
# Many unknown keys at once (built, not drawn one by one: drawing is the slow part).
MANY_PARAMS = st.builds(
    lambda n, width: {f"unknown_{i}_" + "k" * width: i for i in range(n)},
    st.integers(40, 60),
    st.integers(1, 300),
)
PARAMS = st.one_of(st.just({}), st.dictionaries(PARAM_KEYS, PARAM_VALUES, max_size=3), MANY_PARAMS)
ACCELERATORS = st.lists(texts("dojo-tile", "gpu-a100", "gpu-h100"), max_size=4)


def _maybe(draw: st.DrawFn) -> bool:
    """Whether to fuzz a section (else it keeps the good values): half the time each."""
    return draw(st.booleans())


@st.composite
def job_specs(draw: st.DrawFn) -> job_pb2.JobSpec:
    spec = job_pb2.JobSpec(name="digits-mlp")
    spec.model.architecture, spec.dataset.name = "mlp", "digits"
    spec.training.steps, spec.training.batch_size, spec.training.learning_rate = 30, 16, 0.003
    spec.resources.accelerators.append("dojo-tile")
    if _maybe(draw):
        spec.name = draw(texts("digits-mlp", "a", "x" * 63, "-bad-", "UPPER"))
        spec.priority_class = draw(texts("", "low", "normal", "high"))
    if _maybe(draw):
        spec.model.architecture = draw(texts("mlp", "cnn", "gpt", "vit", "video", "", "mlp2"))
        spec.model.params.update(draw(PARAMS))
    if _maybe(draw):
        spec.dataset.name = draw(
            texts(
                "digits",
                "tiny-shakespeare",
                "synthetic-images",
                "synthetic-text",
                "synthetic-video",
                "npz",
                "",
                "imagenet",
                "organizations/acme/datasets/absent",
                "organizations/other/datasets/theirs",
                "organizations/acme/datasets/",
            )
        )
    if _maybe(draw):
        _fuzz_training(draw, spec.training)
    if _maybe(draw):
        spec.resources.ClearField("accelerators")
        spec.resources.accelerators.extend(draw(ACCELERATORS))
        spec.resources.count = draw(ints(1, 2, 10_000, wide=INT32))
        spec.limits.max_runtime_seconds = draw(ints(60, 604_800, 604_801))
    return spec


def _fuzz_training(draw: st.DrawFn, t: job_pb2.TrainingSpec) -> None:
    t.steps = draw(ints(1, 30, 10_000_000, 10_000_001))
    t.batch_size = draw(ints(1, 16, 65_536, 65_537))
    t.optimizer = draw(texts("", "sgd", "adam", "adamw", "lbfgs"))
    t.learning_rate = draw(FLOATS)
    t.precision = draw(texts("", "fp32", "bf16", "cfp8", "fp4"))
    t.checkpoint_interval = draw(ints(1, 10))
    t.seed = draw(ints(7))


REQUEST_IDS = st.one_of(st.just(""), texts("r-1", "x" * 100, "x" * 101))
PARENTS = st.one_of(
    st.just(""), texts("organizations/acme", "orgs/acme", "organizations/globex", "organizations/")
)

# --- job files ---------------------------------------------------------------------------

_GOOD = {
    "name": "digits-mlp",
    "model": {"architecture": "mlp", "params": {"hidden": 32}},
    "dataset": {"name": "digits"},
    "training": {"steps": 30, "batch_size": 16, "learning_rate": 0.003},
    "resources": {"accelerators": ["dojo-tile"], "count": 1},
}
_KEYS = st.sampled_from(
    [
        "name",
        "model",
        "architecture",
        "params",
        "dataset",
        "training",
        "steps",
        "resources",
        "accelerators",
        "count",
        "limits",
        "x",
        "1",
    ]
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    INT64,
    st.integers(2**63, 2**70),
    st.floats(allow_nan=True),
    TEXT,
    st.binary(max_size=8),
)
_NESTED: st.SearchStrategy[Any] = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(_KEYS, TEXT, INT64), inner, max_size=4),
    ),
    max_leaves=12,
)


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@st.composite
def _mutated_good(draw: st.DrawFn) -> str:
    data: dict[str, Any] = yaml.safe_load(_dump(_GOOD))
    for _ in range(draw(st.integers(1, 4))):
        section = draw(st.sampled_from(sorted(data)))
        if isinstance(data[section], dict) and draw(st.booleans()):
            data[section][draw(st.one_of(_KEYS, TEXT))] = draw(_NESTED)
        else:
            data[section] = draw(_NESTED)
    return _dump(data)


def _deep(depth: int, kind: str) -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    if kind == "flow-map":
        return "{a: " * depth + "1" + "}" * depth
    return "".join("  " * i + "a:\n" for i in range(depth)) + "  " * depth + "1\n"


def _bomb(levels: int) -> str:
    lines = [f"l0: &l0 [{', '.join(['1'] * 10)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines)


def _encoded(text: str, encoding: str) -> bytes:
    return text.encode(encoding, "replace")


TEXTS = st.one_of(
    _mutated_good(),
    _mutated_good(),
    st.builds(_dump, _NESTED),
    st.builds(_deep, st.integers(1, 3000), st.sampled_from(["list", "flow-map", "block"])),
    st.builds(_bomb, st.integers(2, 8)),
    st.text(_CHARS, max_size=200),
    st.just("a: &a [*a]"),
    st.just("name: [unclosed"),
)


@st.composite
def job_file_bytes(draw: st.DrawFn) -> bytes:
    """A job file's bytes: UTF-8 YAML mostly, else another encoding, flipped bytes, a
    truncation, random bytes, or a file over the size limit."""
    text = draw(TEXTS)
    how = draw(
        st.sampled_from(
            ["utf-8"] * 6
            + ["latin-1", "utf-16", "utf-32", "cp1252", "flip", "cut", "random", "big"]
        )
    )
    if how in ("utf-8", "latin-1", "utf-16", "utf-32", "cp1252"):
        return _encoded(text, how)
    data = text.encode("utf-8")
    if how == "flip" and data:
        at = draw(st.integers(0, len(data) - 1))
        return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    if how == "cut":
        return data[: draw(st.integers(0, len(data)))]
    if how == "big":
        return data + b"\n#" + b"x" * (256 * 1024)
    return draw(st.binary(max_size=300))
