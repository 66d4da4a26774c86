"""The cost model against published single-node throughput, and the memory model against
measured peaks: `make bench` line cost_model_validation, and the writer of the generated
tables in dojo_runtime/VALIDATION.md.

cost_model_validation   worst modelled / published ratio of the claimed cases (ResNet-50
                        v1.5 on DGX A100 and DGX-1, BERT-Large phase-2 pre-training on DGX
                        A100); every case is listed with its ratio

python -m benchmarks.bench_cost_validation --write    regenerates the tables
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from benchmarks.report import bench
from dojo_runtime.validation import model_all, throughput_table, worst

VALIDATION_MD = Path(__file__).resolve().parent.parent / "dojo_runtime" / "VALIDATION.md"
BEGIN, END = "<!-- single-node table: begin (generated) -->", "<!-- single-node table: end -->"


def generated_section() -> str:
    return f"{BEGIN}\n{throughput_table(model_all())}\n{END}"


def replace_section(text: str, section: str, begin: str = BEGIN, end: str = END) -> str:
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"VALIDATION.md lacks the markers {begin!r} ... {end!r}")
    return pattern.sub(lambda _: section, text)


def main() -> None:
    results = model_all()
    cases = {r.case.name: round(r.ratio, 3) for r in results}
    bench(
        "cost_model_validation",
        worst(results),
        "modelled/published",
        cases=cases,
        in_band=all(r.in_band for r in results),
    )


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        VALIDATION_MD.write_text(
            replace_section(VALIDATION_MD.read_text(encoding="utf-8"), generated_section()),
            encoding="utf-8",
        )
    else:
        main()
