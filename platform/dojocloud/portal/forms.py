"""Portal forms. They only parse types; the job service validates the spec's meaning, so the
portal, gRPC and the CLI report the same messages."""

from __future__ import annotations

from collections.abc import Iterable

from django import forms

from dojo import bounded_yaml
from dojo_runtime.data import BUILT_IN
from dojocloud.common.inventory import pool_sizes
from dojocloud.jobs import facade as jobs
from scheduler.core import DOJO_ACCELERATOR

DATASET_SUGGESTIONS = list(BUILT_IN)  # and the organization's uploaded datasets

# The digits MLP of examples/digits-mlp.yaml: a job that trains in seconds.
DEFAULTS = {
    "name": "digits-mlp",
    "architecture": "mlp",
    "params": "hidden=128, layers=2",
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


def parse_params(text: str) -> dict[str, int]:
    """'hidden=128, layers=2' → {'hidden': 128, 'layers': 2}; raises ValueError naming the bad
    item."""
    out: dict[str, int] = {}
    for item in text.replace("\n", ",").split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise ValueError(f"{item!r} is not key=value")
        try:
            out[key] = int(value)
        except ValueError:
            raise ValueError(f"{key}: {value!r} is not an integer") from None
    return out


class JobSpecForm(forms.Form):
    """The common JobSpec fields. Optional at this level: an empty field is the proto default,
    and the service says whether that is acceptable."""

    name = forms.CharField(required=False, max_length=200)
    architecture = forms.ChoiceField(choices=_choices(jobs.ARCHITECTURES))
    params = forms.CharField(
        required=False,
        label="Model size parameters",
        help_text="key=value, comma separated, e.g. hidden=128, layers=2",
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

    def clean_params(self) -> dict[str, int]:
        try:
            return parse_params(self.cleaned_data.get("params") or "")
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


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
