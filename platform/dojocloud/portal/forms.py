"""Portal forms. They only parse types; the job service validates the spec's meaning, so the
portal, gRPC and the CLI report the same messages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from dojo import bounded_yaml
from dojocloud.common.inventory import pool_sizes
from dojocloud.jobs import facade as jobs
from scheduler.core import DOJO_ACCELERATOR

DATASET_SUGGESTIONS = list(jobs.DATASET_CATALOG)  # and the organization's uploaded datasets
CATALOG = jobs.ARCHITECTURE_CATALOG  # each architecture's size parameters and their limits
# The architecture choice that names an uploaded ONNX model instead (model.onnx, model.task).
UPLOADED = "onnx"
PARAM_PREFIX = "param_"
INT32_MAX = 2**31 - 1


def param_field(architecture: str, param: str) -> str:
    """The form field of one architecture's parameter: 'param_mlp_hidden'."""
    return f"{PARAM_PREFIX}{architecture}_{param}"


def catalog_defaults() -> dict[str, int]:
    return {
        param_field(arch, name): spec.default
        for arch, info in CATALOG.items()
        for name, spec in info.params.items()
    }


# The digits MLP of examples/digits-mlp.yaml: a job that trains in seconds. Every
# architecture's parameters start at the catalog's defaults, so what shows is what runs.
DEFAULTS = {
    "name": "digits-mlp",
    "architecture": "mlp",
    **catalog_defaults(),
    "dataset": "digits",
    "steps": 300,
    "batch_size": 64,
    "optimizer": "adam",
    "learning_rate": 0.001,
    "precision": "bf16",
    "checkpoint_interval": 100,
    "seed": 0,
    "accelerators": [DOJO_ACCELERATOR],
    "count": 1,
    "priority_class": jobs.DEFAULT_PRIORITY_CLASS,
}


def _choices(values: Iterable[str]) -> list[tuple[str, str]]:
    return [(v, v) for v in values]


def _accelerator_choices() -> list[tuple[str, str]]:
    """The accelerator types of the configured cluster, Dojo first."""
    return _choices(sorted(pool_sizes(), key=lambda a: (not a.startswith("dojo"), a)))


def _param_form_fields() -> dict[str, forms.Field]:
    """One integer field per (architecture, parameter) of the runtime catalog. The limits
    are shown (and set as the input's min/max); the validator judges them."""
    out: dict[str, forms.Field] = {}
    for arch, info in CATALOG.items():
        for name, spec in info.params.items():
            out[param_field(arch, name)] = forms.IntegerField(
                required=False,
                label=name,
                help_text=f"{spec.help}; {spec.minimum}–{spec.maximum}, default {spec.default}",
                widget=forms.NumberInput(
                    attrs={"min": spec.minimum, "max": spec.maximum, "data-arch": arch}
                ),
            )
    return out


class JobSpecForm(forms.Form):
    """The common JobSpec fields. Optional at this level: an empty field is the proto default,
    and the service says whether that is acceptable. Each architecture's parameters are
    fields of their own (`param_<architecture>_<name>`); only the chosen one's are read."""

    name = forms.CharField(required=False, max_length=200)
    architecture = forms.ChoiceField(
        choices=[*_choices(jobs.ARCHITECTURES), (UPLOADED, "an uploaded ONNX model")],
        widget=forms.Select(attrs={"data-arch-switch": ""}),
    )
    # Read when architecture is UPLOADED: the organization's model and its task.
    onnx_model = forms.CharField(
        required=False,
        label="ONNX model",
        help_text="organizations/{org}/models/{id}: one of the organization's uploaded models",
        widget=forms.TextInput(attrs={"list": "model-names"}),
    )
    task = forms.ChoiceField(
        choices=_choices(jobs.TASKS),
        required=False,
        label="Task",
        help_text="classification (labels), regression (float targets, MSE) or language_model",
    )
    dataset = forms.CharField(
        required=False,
        label="Dataset",
        help_text="A built-in name, or an uploaded one: organizations/{org}/datasets/{id}",
        widget=forms.TextInput(attrs={"list": "dataset-names"}),
    )
    steps = forms.IntegerField(required=False)
    batch_size = forms.IntegerField(required=False)
    optimizer = forms.ChoiceField(choices=_choices(jobs.OPTIMIZERS))
    learning_rate = forms.FloatField(required=False)
    precision = forms.ChoiceField(choices=_choices(jobs.PRECISIONS))
    checkpoint_interval = forms.IntegerField(required=False, label="Checkpoint every (steps)")
    seed = forms.IntegerField(required=False)
    accelerators = forms.MultipleChoiceField(
        choices=_accelerator_choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Tick every type the job may run on",
    )
    count = forms.IntegerField(required=False, label="Tiles or GPUs")
    max_runtime_seconds = forms.IntegerField(
        required=False, label="Max runtime (s)", help_text="Empty: the platform default"
    )
    priority_class = forms.ChoiceField(choices=_choices(jobs.PRIORITY_CLASSES), label="Priority")
    preemptible = forms.BooleanField(
        required=False,
        label="Preemptible",
        help_text="Pays the preemptible rate; stopped first (and resumed) when capacity is needed",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(_param_form_fields())
        for f in self.fields.values():
            if isinstance(f, forms.IntegerField):
                # What the spec's integer fields hold: a larger number is a field error
                # here, not an overflow when the spec is built.
                f.validators += [MinValueValidator(-INT32_MAX - 1), MaxValueValidator(INT32_MAX)]

    def param_groups(self) -> list[tuple[str, str, list[forms.BoundField]]]:
        """(architecture, description, its parameter fields) for the template."""
        return [
            (arch, info.description, [self[param_field(arch, n)] for n in info.params])
            for arch, info in CATALOG.items()
        ]

    def params(self) -> dict[str, int]:
        """The chosen architecture's parameters from the cleaned data, plus any posted
        `param_<architecture>_<name>` the catalog does not know (the validator names it:
        nothing a user sent is silently dropped)."""
        arch = self.cleaned_data.get("architecture") or ""
        out: dict[str, int] = {}
        prefix = f"{PARAM_PREFIX}{arch}_"
        for key in self.data if arch else ():
            if not key.startswith(prefix):
                continue
            name = key.removeprefix(prefix)
            if key in self.fields:
                value = self.cleaned_data.get(key)
                if value is not None:
                    out[name] = value
            elif str(self.data.get(key, "")).strip():
                # Not a parameter of this architecture: its value does not matter, the
                # validator reports the name.
                raw = str(self.data[key]).strip()
                number = int(raw) if raw.lstrip("-").isdigit() else 0
                out[name] = number if abs(number) <= INT32_MAX else 0
        return out


class YamlSpecForm(forms.Form):
    """A job file, pasted or uploaded; an upload wins over the textarea."""

    spec_yaml = forms.CharField(
        required=False,
        label="Job spec (YAML)",
        widget=forms.Textarea(attrs={"rows": 22, "spellcheck": "false"}),
    )
    spec_file = forms.FileField(required=False, label="…or upload a .yaml file")

    MAX_BYTES = bounded_yaml.MAX_FILE_BYTES  # the CLI's limit too

    def clean(self) -> dict:
        data = super().clean() or {}
        upload = data.get("spec_file")
        if upload is not None:
            try:
                bounded_yaml.check_size(upload.size)
                data["spec_yaml"] = bounded_yaml.decode(upload.read(self.MAX_BYTES + 1))
            except bounded_yaml.JobFileError as exc:
                # the same words as the CLI: "is not UTF-8 text (byte 0xe9 ...)"
                raise forms.ValidationError(f"{upload.name}: {exc}") from None
        if not (data.get("spec_yaml") or "").strip():
            raise forms.ValidationError("Paste a job spec or choose a file.")
        return data

    def source(self) -> str:
        upload = self.cleaned_data.get("spec_file")
        return upload.name if upload is not None else "pasted spec"
