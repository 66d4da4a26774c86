"""Reads a posted job spec — from the form fields or from YAML text/upload — into a JobSpec,
keeping what the user typed and every error by field name so the page can show them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

from dojo.errors import SpecError
from dojo.specfile import parse_yaml
from dojo.v1 import job_pb2
from dojocloud.portal.forms import DEFAULTS, JobSpecForm, YamlSpecForm
from dojocloud.portal.spec_mapping import FORM_TO_SPEC_PATH, form_field_for, spec_from_form


class Violation(Protocol):
    field: str
    description: str


@dataclass
class SpecInput:
    mode: str  # "form" | "yaml"
    form: JobSpecForm
    yaml_form: YamlSpecForm
    spec: job_pb2.JobSpec | None = None
    yaml_text: str = ""
    # (spec path, description) for YAML mode and for paths no form field shows.
    violations: list[tuple[str, str]] = field(default_factory=list)

    def add_violations(self, violations: list[Any]) -> None:
        for v in violations:
            name = form_field_for(v.field) if self.mode == "form" else None
            if name is not None:
                self.form.add_error(name, v.description)
            else:
                self.violations.append((v.field or "(spec)", v.description))

    def all_errors(self) -> list[tuple[str, str]]:
        """Every error as (field path, description), for the estimate fragment."""
        out = list(self.violations)
        if self.mode == "form":
            for name, errors in self.form.errors.items():
                path = FORM_TO_SPEC_PATH.get(name, "(form)")
                out += [(path, str(e)) for e in errors]
        else:
            out += [("(file)", str(e)) for e in self.yaml_form.non_field_errors()]
        return out


def read_spec(post: QueryDict, files: MultiValueDict) -> SpecInput:
    if post.get("mode") == "yaml":
        return _read_yaml(post, files)
    form = JobSpecForm(post)
    result = SpecInput(mode="form", form=form, yaml_form=YamlSpecForm())
    if form.is_valid():
        result.spec = spec_from_form(form.cleaned_data)
    return result


def _read_yaml(post: QueryDict, files: MultiValueDict) -> SpecInput:
    yaml_form = YamlSpecForm(post, files)
    result = SpecInput(
        mode="yaml",
        form=JobSpecForm(initial=DEFAULTS),
        yaml_form=yaml_form,
        yaml_text=post.get("spec_yaml", ""),
    )
    if not yaml_form.is_valid():
        return result
    result.yaml_text = yaml_form.cleaned_data["spec_yaml"]
    try:
        result.spec = parse_yaml(result.yaml_text, source=yaml_form.source())
    except SpecError as exc:
        if exc.field_violations:
            result.add_violations(exc.field_violations)
        else:
            result.violations.append(("(file)", exc.message))
    return result
