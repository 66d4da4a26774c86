"""Proves the CUDA path on a machine with NVIDIA GPUs; prints PASS or FAIL and exits 0 or 1.

    .venv/bin/python scripts/cuda_check.py          # from the repository root

Trains a small GPU-pool job (an MLP on digits, gpu-a100 numerics, fp32 and emulated bf16)
through the platform's own job processes (`dojocloud.execution.supervisor`, the fork
server, `jobproc`): on cuda with 1 rank, on cuda with 2 ranks over NCCL, and on the CPU
with 1 rank, then compares the final weights:

* cuda 1 rank vs cpu 1 rank, fp32: max abs diff <= CUDA_TOLERANCE (cuBLAS and the CPU's
  BLAS sum in other orders; TF32 is off, so both are float32);
* cuda 2 ranks (NCCL) vs cuda 1 rank, fp32: <= RANK_TOLERANCE (the runtime's stated
  N-rank tolerance);
* cuda 2 ranks, bf16 emulation (stochastic rounding on a CUDA generator): finishes, finite
  weights, and the 2-rank segmented run resumes bit-identically (4 + 4 steps == 8 straight).

Needs no database, Redis or Django settings. With 1 GPU both NCCL ranks share cuda:0 (NCCL
refuses two ranks on one device in some versions: then the 2-rank check reports SKIP, not
PASS, and the script says so).
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "platform"), str(ROOT / "sdk")]

import torch  # noqa: E402

from dojo_runtime.config import TrainConfig  # noqa: E402
from dojo_runtime.parallel import gang_devices  # noqa: E402
from dojocloud.execution import supervisor  # noqa: E402
from dojocloud.execution.jobproc import SegmentOrder  # noqa: E402

CUDA_TOLERANCE = 1e-4
RANK_TOLERANCE = 1e-5
STEPS = 8


def config(precision: str, devices: int) -> TrainConfig:
    return TrainConfig(
        architecture="mlp",
        model_params={"hidden": 64, "layers": 2},
        dataset="digits",
        steps=STEPS,
        batch_size=32,
        optimizer="adam",
        learning_rate=1e-2,
        precision=precision,
        seed=11,
        accelerator="gpu-a100",
        device_count=devices,
    )


def train(
    cfg: TrainConfig, devices: list[str], until: int, checkpoint: bytes | None = None
) -> bytes:
    """Runs the gang to `until`; returns rank 0's checkpoint."""
    order = SegmentOrder(cfg, checkpoint, until, 2, 0, 1, world=len(devices), device=devices[0])
    end = supervisor.run_job_process(
        order,
        start_step=0,
        on_step=lambda m: None,
        should_stop=lambda: None,
        keep_checkpoint=lambda _: True,
        grace_s=30.0,
        devices=devices,
        rendezvous_timeout_s=120.0,
    )
    if end.failure is not None or end.checkpoint is None:
        raise RuntimeError(f"{devices}: {end.failure} {end.message}")
    return end.checkpoint


def weights(blob: bytes) -> dict[str, torch.Tensor]:
    saved = torch.load(io.BytesIO(blob), weights_only=True, map_location="cpu")
    return {k: v.float() for k, v in saved["model"].items()}


def max_diff(a: bytes, b: bytes) -> float:
    wa, wb = weights(a), weights(b)
    return max(float((wa[k] - wb[k]).abs().max()) for k in wa)


def main() -> int:
    if not torch.cuda.is_available():
        print("FAIL: no CUDA device (torch.cuda.is_available() is False)")
        return 1
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    count = torch.cuda.device_count()
    one, where = gang_devices("gpu", count, 1)
    two, where2 = gang_devices("gpu", count, 2)
    print(
        f"{count} CUDA device(s): {torch.cuda.get_device_name(0)}; 1 rank {where}; 2 ranks {where2}"
    )
    supervisor.start_fork_server()
    results: list[tuple[str, bool, str]] = []
    started = time.monotonic()
    cpu = train(config("fp32", 1), ["cpu"], STEPS)
    cuda1 = train(config("fp32", 1), one, STEPS)
    diff = max_diff(cuda1, cpu)
    results.append(("cuda 1 rank vs cpu, fp32", diff <= CUDA_TOLERANCE, f"max abs diff {diff:.3g}"))
    try:
        cuda2 = train(config("fp32", 2), two, STEPS)
        diff = max_diff(cuda2, train(config("fp32", 2), one, STEPS))
        results.append(
            ("cuda 2 ranks NCCL vs 1 rank", diff <= RANK_TOLERANCE, f"max abs diff {diff:.3g}")
        )
        bf16 = config("bf16", 2)
        straight = train(bf16, two, STEPS)
        half = train(bf16, two, STEPS // 2)
        resumed = train(bf16, two, STEPS, checkpoint=half)
        same = max_diff(straight, resumed) == 0.0
        finite = all(torch.isfinite(w).all() for w in weights(straight).values())
        results.append(
            (
                "cuda 2 ranks bf16 resume bit-identical",
                same and finite,
                f"identical={same} finite={finite}",
            )
        )
    except RuntimeError as exc:
        if count > 1:
            results.append(("cuda 2 ranks NCCL", False, str(exc)[:300]))
        else:
            print(f"SKIP: 2 NCCL ranks on one GPU refused here: {str(exc)[:300]}")
    for name, ok, detail in results:
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
    passed = all(ok for _, ok, _ in results)
    print(f"{'PASS' if passed else 'FAIL'} ({time.monotonic() - started:.1f}s)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
