"""The one edge that reads the spec files (package data) into the typed specs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

# `hw.X`: this module builds every typed spec; the package re-exports them by name.
from dojo_runtime.specs import hardware as hw

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_Spec = TypeVar("_Spec", bound="DataclassInstance")

HARDWARE_FILE = "dojo_hardware.yaml"
COST_MODEL_FILE = "cost_model.yaml"


def _read(name: str) -> dict[str, Any]:
    text = resources.files("dojo_runtime.specs").joinpath(name).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"{name}: expected a mapping at the top level")
    return data


def _pick(section: Mapping[str, Any], **names: str) -> dict[str, Any]:
    """Take fields from a YAML section; `field=yaml_key` renames. Missing keys fail loudly."""
    out: dict[str, Any] = {}
    for fld, key in names.items():
        if key not in section:
            raise ValueError(f"spec file is missing {key!r}")
        out[fld] = section[key]
    return out


def _same(section: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return _pick(section, **{k: k for k in keys})


def _spec_of(cls: type[_Spec], section: Mapping[str, Any]) -> _Spec:
    """A spec whose every field is the YAML key of the same name (extra keys are ignored)."""
    return cls(**_same(section, *(f.name for f in fields(cls))))


def _tray(d: Mapping[str, Any]) -> hw.TraySpec:
    rows, cols = (int(x) for x in str(d["tile_layout"]).lower().split("x"))
    if rows * cols != int(d["tiles"]):
        raise ValueError("system_tray.tile_layout does not match system_tray.tiles")
    return hw.TraySpec(int(d["tiles"]), rows, cols, int(d["dips"]), str(d["source"]))


def _gpu(
    name: str, part: str, d: Mapping[str, Any], node_net: float, per_node: int, arch: str
) -> hw.GpuSpec:
    bf16 = d.get("peak_bf16_dense_flops") or d.get("peak_fp16_dense_flops")
    if bf16 is None:
        raise ValueError(f"gpus.{part}: no 16-bit dense peak")
    return hw.GpuSpec(
        accelerator=name,
        part=part,
        peak_bf16_flops=float(bf16),
        peak_fp8_flops=d.get("peak_fp8_dense_flops"),
        peak_tf32_flops=d.get("peak_tf32_dense_flops"),
        architecture=arch,
        gpus_per_node=per_node,
        node_network_bytes_per_s=node_net,
        confidence=str(d.get("confidence", "R")),
        **_same(
            d,
            "peak_fp32_flops",
            "hbm_bytes",
            "hbm_bandwidth_bytes_per_s",
            "nvlink_bandwidth_bytes_per_s",
            "source",
        ),
    )


def _gpus(data: Mapping[str, Any]) -> dict[str, hw.GpuSpec]:
    extra = data["additions"]
    parts = {**data["gpus"], **extra["gpus"]}
    per_node = int(data["gpus"]["node_8gpu"]["gpus_per_node"])
    net = extra["gpu_node_network"]
    out: dict[str, hw.GpuSpec] = {}
    for name, entry in extra["accelerators"].items():
        if entry["kind"] == "gpu":
            part = entry["gpu"]
            node_net = float(net[entry["node_network"]])
            out[name] = _gpu(name, part, parts[part], node_net, per_node, _architecture(data, part))
    return out


def gpu_part(part: str, accelerator: str, node_network_bytes_per_s: float = 0.0) -> hw.GpuSpec:
    """A GPU part by its key in the hardware file (e.g. "a100_sxm_80gb"), named `accelerator`,
    in 8-GPU nodes: for parts no pool rents, such as the DGX A100 80GB of the validation."""
    data = _read(HARDWARE_FILE)
    parts = {**data["gpus"], **data["additions"]["gpus"]}
    if part not in parts or part == "node_8gpu":
        raise ValueError(f"unknown GPU part {part!r}")
    per_node = int(data["gpus"]["node_8gpu"]["gpus_per_node"])
    arch = _architecture(data, part)
    return _gpu(accelerator, part, parts[part], node_network_bytes_per_s, per_node, arch)


def _architecture(data: Mapping[str, Any], part: str) -> str:
    archs = data["additions"].get("gpu_architectures") or {}
    if part not in archs:
        raise ValueError(f"additions.gpu_architectures has no entry for GPU part {part!r}")
    return str(archs[part])


def _prices(d: Mapping[str, Any]) -> hw.PriceBook:
    table = {str(k): float(v) for k, v in d["usd_per_device_hour"].items()}
    return hw.PriceBook(MappingProxyType(table), str(d["price_date"]), str(d["source"]))


@cache
def load_hardware() -> hw.HardwareSpecs:
    """The packaged hardware figures (read once; the result is immutable)."""
    data = _read(HARDWARE_FILE)
    extra = data["additions"]
    return hw.HardwareSpecs(
        as_of=str(data["as_of"]),
        node=_spec_of(hw.NodeSpec, data["node"]),
        tile=_spec_of(hw.TileSpec, data["training_tile"]),
        tray=_tray(data["system_tray"]),
        pod=hw.PodSpec(
            int(data["cabinet"]["system_trays"]),
            int(data["exapod"]["cabinets"]),
            int(data["exapod"]["tiles"]),
            str(data["exapod"]["source"]),
        ),
        dip=_spec_of(hw.DipSpec, data["dip"]),
        gpus=MappingProxyType(_gpus(data)),
        latencies=_spec_of(hw.LatencySpec, extra["latencies"]),
        prices=_prices(extra["prices"]),
        accelerators=tuple(extra["accelerators"]),
    )


def accelerator_kind(accelerator: str) -> str:
    """ "dojo" or "gpu" for a known accelerator type; ValueError otherwise."""
    entry = _read_accelerators().get(accelerator)
    if entry is None:
        known = ", ".join(load_hardware().accelerators)
        raise ValueError(f"unknown accelerator {accelerator!r} (known: {known})")
    return str(entry["kind"])


@cache
def _read_accelerators() -> Mapping[str, Mapping[str, Any]]:
    return MappingProxyType(dict(_read(HARDWARE_FILE)["additions"]["accelerators"]))


def _by_kernel(d: Mapping[str, Any]) -> tuple[tuple[str, str, float], ...]:
    return tuple(
        (str(kind), str(precision), float(entry["value"]))
        for kind, per_precision in (d.get("by_kernel") or {}).items()
        for precision, entry in per_precision.items()
    )


def _efficiency(d: Mapping[str, Any]) -> hw.Efficiency:
    by_architecture = tuple(
        (str(arch), kind, precision, value)
        for arch, section in (d.get("by_architecture") or {}).items()
        for kind, precision, value in _by_kernel(section)
    )
    return hw.Efficiency(
        **{k: float(v) for k, v in _same(d, "matrix", "vector", "memory", "network").items()},
        by_kernel=_by_kernel(d),
        by_architecture=by_architecture,
    )


@cache
def load_cost_params() -> hw.CostParams:
    """The cost model's default parameters (cost_model.yaml)."""
    d = _read(COST_MODEL_FILE)
    return hw.CostParams(
        dojo=_efficiency(d["efficiency"]["dojo"]),
        gpu=_efficiency(d["efficiency"]["gpu"]),
        dojo_kernel_overhead_s=float(d["kernel_overhead_s"]["dojo"]),
        gpu_kernel_overhead_s=float(d["kernel_overhead_s"]["gpu"]),
        sram_usable_fraction=float(d["sram_usable_fraction"]),
        links_are_bidirectional=bool(d["links_are_bidirectional"]),
    )
