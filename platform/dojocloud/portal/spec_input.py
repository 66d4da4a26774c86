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
from dojocloud.common.errors import FieldViolation, InvalidArgument, NotFound
from dojocloud.jobs import facade as jobs
from dojocloud.portal.forms import DEFAULTS, PARAM_PREFIX, JobSpecForm, YamlSpecForm
from dojocloud.portal.spec_mapping import FORM_TO_SPEC_PATH, form_field_for, spec_from_form
from dojocloud.tenancy.facade import Organization


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
        """The service's violations onto the form's fields (or the list, where no field
        shows that path); a field that already has an error (it did not parse) keeps that
        one, as the service judged the empty value the form passed in its place."""
        arch = self.form.data.get("architecture", "") if self.mode == "form" else ""
        unparsed = set(self.form.errors) if self.mode == "form" else set()
        for v in violations:
            name = form_field_for(v.field, arch) if self.mode == "form" else None
            if name is None:
                self.violations.append((v.field or "(spec)", v.description))
            elif name not in unparsed:
                self.form.add_error(name, v.description)

    def all_errors(self) -> list[tuple[str, str]]:
        """Every error as (field path, description), for the estimate fragment."""
        return [(path, message) for _, path, message in self.summary()]

    def summary(self) -> list[tuple[str, str, str]]:
        """Every error once, as (field anchor or "", spec path, description): the page's
        list above the form, in the form's order."""
        out: list[tuple[str, str, str]] = []
        if self.mode == "form":
            for name, errors in self.form.errors.items():
                out += [(name, _path_of(name), str(e)) for e in errors]
        else:
            out += [("", "(file)", str(e)) for e in self.yaml_form.non_field_errors()]
        return out + [("", path, message) for path, message in self.violations]


def _path_of(form_field: str) -> str:
    if form_field.startswith(PARAM_PREFIX):
        return "model.params." + form_field.removeprefix(PARAM_PREFIX).partition("_")[2]
    return FORM_TO_SPEC_PATH.get(form_field, "(form)")


def read_spec(
    post: QueryDict, files: MultiValueDict, organization: Organization | None = None
) -> SpecInput:
    """`organization`: the caller's, in which an uploaded dataset or model the form names
    resolves (one it does not hold is that field's error, as an unknown name is)."""
    if post.get("mode") == "yaml":
        return _read_yaml(post, files)
    form = JobSpecForm(post)
    result = SpecInput(mode="form", form=form, yaml_form=YamlSpecForm())
    # The validator judges what parsed even when some fields did not: every error shows on
    # the first render, not one round at a time.
    parsed = form.is_valid()
    spec = spec_from_form(form.cleaned_data, form.params())
    try:
        # A form shows the accelerators and count: left empty, they are errors, not defaults.
        jobs.validate_spec(spec, organization=organization, given=jobs.RESOURCES_GIVEN)
    except InvalidArgument as exc:
        result.add_violations(exc.violations)
        return result
    except NotFound as exc:
        path = "model.onnx" if exc.resource == spec.model.onnx else "dataset.name"
        result.add_violations([FieldViolation(path, f"{exc.resource} not found")])
        return result
    if parsed:
        result.spec = spec
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
