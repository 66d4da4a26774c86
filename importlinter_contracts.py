"""import-linter contract types of this repository (named in pyproject's `contract_types`).

`facade`: every app under a container is entered through one module. Any import from outside
an app into one of its other modules breaks the contract; each is listed with its file and
line. (import-linter's `protected` type cannot leave the facade out of a package without
listing every other module of it.)

    [[tool.importlinter.contracts]]
    name = "Apps are entered only through their facade"
    type = "facade"
    container = "dojocloud"
    apps = ["tenancy", "jobs", "billing", "execution", "scheduling"]
    facade = "facade"
    exempt_importers = ["dojocloud.settings", "dojocloud.urls"]
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import grimp
from importlinter import Contract, ContractCheck, fields, output


@dataclass(frozen=True)
class Offence:
    importer: str
    imported: str
    file: str
    line: int
    text: str

    def render(self) -> str:
        return f"{self.file}:{self.line}: {self.importer} -> {self.imported}  ({self.text})"


def module_file(module: str) -> str:
    """The module's source file, relative to the working directory where it lies below it.
    Only the top-level package is located (find_spec of a top-level name imports nothing)."""
    top, _, rest = module.partition(".")
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        return module
    base = Path(next(iter(spec.submodule_search_locations)))
    path = base.joinpath(*rest.split(".")) if rest else base
    found = path.with_suffix(".py") if path.with_suffix(".py").exists() else path / "__init__.py"
    try:
        return str(found.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(found)


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


class FacadeContract(Contract):
    type_name = "facade"

    container = fields.StringField()
    apps = fields.ListField(subfield=fields.StringField())
    facade = fields.StringField(required=False, default="facade")
    exempt_importers = fields.ListField(subfield=fields.StringField(), required=False, default=[])

    def _offences(self, graph: grimp.ImportGraph) -> list[Offence]:
        exempt: list[str] = list(self.exempt_importers)  # type: ignore[call-overload]
        found: list[Offence] = []
        for app in self.apps:  # type: ignore[attr-defined]
            package = f"{self.container}.{app}"
            entry = f"{package}.{self.facade}"
            if package not in graph.modules:
                raise ValueError(f"facade contract: no package {package}")
            for imported in sorted(graph.find_descendants(package)):
                if imported == entry:
                    continue
                for importer in sorted(graph.find_modules_that_directly_import(imported)):
                    if _inside(importer, package) or importer in exempt:
                        continue
                    for detail in graph.get_import_details(importer=importer, imported=imported):
                        found.append(
                            Offence(
                                importer,
                                imported,
                                module_file(importer),
                                int(detail["line_number"]),
                                str(detail["line_contents"]),
                            )
                        )
        return found

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        offences = self._offences(graph)
        return ContractCheck(
            kept=not offences, metadata={"offences": [o.render() for o in offences]}
        )

    def render_broken_contract(self, check: ContractCheck) -> None:
        output.print(
            f"Only {self.container}.<app>.{self.facade} may be imported from "
            f"outside an app; these imports reach past it:"
        )
        output.new_line()
        for line in check.metadata["offences"]:
            output.print_error(f"- {line}", bold=False)
        output.new_line()
