"""`python -m dojo_runtime estimate SPEC.yaml [--price ACCELERATOR=USD_PER_HOUR ...]`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from dojo_runtime.estimate import (
    DoesNotFit,
    config_from_spec,
    estimate_config,
    format_table,
    price_book,
)


def _prices(pairs: Sequence[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--price expects ACCELERATOR=USD_PER_HOUR, got {pair!r}")
        out[name.strip()] = float(value)
    return out


def _options(text: str | None) -> list[tuple[str, int]] | None:
    if not text:
        return None
    pairs = [item.split(":") for item in text.split(",") if item.strip()]
    return [(name.strip(), int(count)) for name, count in pairs]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dojo_runtime")
    sub = parser.add_subparsers(dest="command", required=True)
    est = sub.add_parser("estimate", help="step time, total time and cost per accelerator option")
    est.add_argument("spec", type=Path, help="job spec YAML (JobSpec field names)")
    est.add_argument(
        "--price",
        action="append",
        default=[],
        metavar="ACCELERATOR=USD",
        help="override a price per device-hour (repeatable)",
    )
    est.add_argument(
        "--options", metavar="ACC:N,...", help="only these options, e.g. dojo-tile:1,gpu-a100:8"
    )
    args = parser.parse_args(argv)

    spec = yaml.safe_load(args.spec.read_text(encoding="utf-8"))
    if not isinstance(spec, dict):
        raise SystemExit(f"{args.spec}: not a job spec mapping")
    config = config_from_spec(spec)
    prices = _prices(args.price)
    try:
        rows = estimate_config(config, options=_options(args.options), prices=prices)
    except DoesNotFit as exc:
        print(f"does not fit any option: {exc}", file=sys.stderr)
        return 1
    name = spec.get("name", args.spec.stem)
    print(
        f"{name}: {config.architecture} {dict(config.model_params)}, batch {config.batch_size}, "
        f"{config.steps} steps, {config.precision}"
    )
    print(format_table(rows, price_book(prices).price_date))
    return 0


if __name__ == "__main__":
    sys.exit(main())
