"""Measured peak memory of catalog models training on the CPU, against dojo_runtime.memory's
estimate (the one admission uses): the memory table of dojo_runtime/VALIDATION.md.

Each case trains two FP32 steps (Adam: the moments exist from the first step on) in a child
process of its own, one thread, with glibc's mmap threshold pinned (large tensors are mapped
and unmapped, so resident memory follows live tensors instead of a heap that never shrinks).
The child resets its high-water mark (/proc/self/clear_refs) after the job's data and step
profile are loaded and before the model is built, so the peak it reports (VmHWM) minus its
resident memory at the reset is what the model, its gradients, optimizer state and the
step's activations took. tracemalloc would not see torch's allocations; this does.

python -m benchmarks.memory_peaks          measures every case and prints the table
python -m benchmarks.memory_peaks --write  ... and writes it into dojo_runtime/VALIDATION.md

The committed table keeps what was measured; tests/unit/runtime_cost/test_runtime_memory_table
recomputes every estimate against it (a memory-model change that leaves the band, or a stale
estimated column, fails) and measures the smallest case again.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from dojo_runtime.config import TrainConfig
from dojo_runtime.memory import peak_memory

BAND = 0.20
MIB = 2**20
BEGIN, END = "<!-- memory table: begin (generated) -->", "<!-- memory table: end -->"
HEADER = "| Model (FP32, Adam, 1 device) | Estimated peak | Measured peak | Estimated / measured |"

CHILD = r"""
import json, sys
import torch
torch.set_num_threads(1)
from dojo_runtime.config import TrainConfig
from dojo_runtime.training import Trainer

def rss_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field)

spec = json.loads(sys.argv[1])
config = TrainConfig(spec["arch"], spec["params"], spec["dataset"], batch_size=spec["batch"],
                     optimizer="adam", precision="fp32", steps=2)
trainer = Trainer(config)
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset VmHWM to the current resident size
base = rss_kib("VmRSS")
state = trainer.train(trainer.initial_state(), until_step=2)
print(json.dumps({"peak_bytes": (rss_kib("VmHWM") - base) * 1024}))
"""


@dataclass(frozen=True)
class MemoryCase:
    arch: str
    params: dict[str, int]
    dataset: str
    batch: int

    @property
    def config(self) -> TrainConfig:
        return TrainConfig(
            self.arch, self.params, self.dataset, batch_size=self.batch, optimizer="adam",
            precision="fp32",
        )  # fmt: skip

    @property
    def label(self) -> str:
        size = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.arch} ({size}), batch {self.batch}"


# The catalog's five architectures at three sizes each, on datasets they accept.
CASES: tuple[MemoryCase, ...] = (
    MemoryCase("mlp", {"hidden": 1024, "layers": 4}, "digits", 512),
    MemoryCase("mlp", {"hidden": 2048, "layers": 4}, "digits", 1024),
    MemoryCase("mlp", {"hidden": 4096, "layers": 4}, "digits", 1024),
    MemoryCase("cnn", {"channels": 64, "blocks": 2}, "digits", 512),
    MemoryCase("cnn", {"channels": 128, "blocks": 4}, "digits", 512),
    MemoryCase("cnn", {"channels": 256, "blocks": 4}, "digits", 512),
    MemoryCase("gpt", {"d_model": 256, "layers": 4, "heads": 4, "context": 128}, "tiny-shakespeare", 32),
    MemoryCase("gpt", {"d_model": 512, "layers": 6, "heads": 8, "context": 128}, "tiny-shakespeare", 32),
    MemoryCase("gpt", {"d_model": 768, "layers": 8, "heads": 12, "context": 256}, "tiny-shakespeare", 16),
    MemoryCase("vit", {"d_model": 256, "layers": 4, "heads": 4, "patch": 2}, "synthetic-images", 64),
    MemoryCase("vit", {"d_model": 512, "layers": 6, "heads": 8, "patch": 2}, "synthetic-images", 64),
    MemoryCase("vit", {"d_model": 768, "layers": 8, "heads": 12, "patch": 2}, "synthetic-images", 32),
    MemoryCase("video", {"d_model": 256, "layers": 2, "heads": 4, "patch": 4}, "synthetic-video", 64),
    MemoryCase("video", {"d_model": 512, "layers": 4, "heads": 8, "patch": 4}, "synthetic-video", 64),
    MemoryCase("video", {"d_model": 768, "layers": 6, "heads": 12, "patch": 4}, "synthetic-video", 32),
)  # fmt: skip


@dataclass(frozen=True)
class MemoryResult:
    case: MemoryCase
    estimated: int
    measured: int

    @property
    def ratio(self) -> float:
        return self.estimated / self.measured

    @property
    def in_band(self) -> bool:
        return abs(self.ratio - 1) <= BAND


def measure(case: MemoryCase) -> int:
    """Peak bytes the child's two training steps took above its resident size at the reset."""
    spec = json.dumps(
        {"arch": case.arch, "params": case.params, "dataset": case.dataset, "batch": case.batch}
    )
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, spec], env=env, capture_output=True, text=True, check=True,
        timeout=600,
    )  # fmt: skip
    return int(json.loads(out.stdout.strip().splitlines()[-1])["peak_bytes"])


def run(cases: tuple[MemoryCase, ...] = CASES, workers: int = 2) -> list[MemoryResult]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        measured = list(pool.map(measure, cases))
    return [
        MemoryResult(c, peak_memory(c.config, 1).peak_bytes, m)
        for c, m in zip(cases, measured, strict=True)
    ]


def memory_table(results: list[MemoryResult]) -> str:
    lines = [HEADER, "|---|---|---|---|"]
    for r in results:
        lines.append(
            f"| {r.case.label} | {r.estimated / MIB:,.0f} MiB | {r.measured / MIB:,.0f} MiB | "
            f"{r.ratio:.2f} |"
        )
    return "\n".join(lines)


def memory_section(results: list[MemoryResult]) -> str:
    return f"{BEGIN}\n{memory_table(results)}\n{END}"


_ROW = re.compile(r"^\| (?P<label>[^|]+) \| (?P<est>[\d,]+) MiB \| (?P<meas>[\d,]+) MiB \|")


def stored_rows(validation_md: str) -> dict[str, tuple[int, int]]:
    """label -> (estimated MiB, measured MiB) as the committed table holds them."""
    start, stop = validation_md.index(BEGIN), validation_md.index(END)
    rows = {}
    for line in validation_md[start:stop].splitlines():
        match = _ROW.match(line)
        if match:
            est, meas = (int(match[k].replace(",", "")) for k in ("est", "meas"))
            rows[match["label"].strip()] = (est, meas)
    return rows


if __name__ == "__main__":
    from benchmarks.bench_cost_validation import VALIDATION_MD, replace_section

    table = run()
    print(memory_table(table))
    if "--write" in sys.argv[1:]:
        text = VALIDATION_MD.read_text(encoding="utf-8")
        VALIDATION_MD.write_text(
            replace_section(text, memory_section(table), BEGIN, END), encoding="utf-8"
        )
