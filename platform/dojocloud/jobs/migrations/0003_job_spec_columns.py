"""Typed columns for what readers take from the stored spec: the accepted accelerator types
and the device count. Existing rows are filled from their spec blob through the codec's pure
functions (dojocloud.jobs.stored_spec), the same ones new jobs are written with, so old rows
get the defaults (a tile, one device) the raw readers used to apply. Priority, total steps
and the runtime limit already had columns, written from the spec at submission.
The reverse drops the columns; the blob still holds everything, so there is nothing to undo."""

from typing import Any

from django.db import migrations, models
from google.protobuf import json_format

from dojo.v1 import job_pb2
from dojocloud.jobs.stored_spec import SpecColumns, default_accelerators, spec_from_dict

_CHUNK = 500


def _columns(blob: object) -> SpecColumns:
    try:
        spec = spec_from_dict(blob if isinstance(blob, dict) else {})
    except json_format.ParseError:  # a blob no release could read: the readers' defaults
        spec = job_pb2.JobSpec()
    return SpecColumns.of(spec)


def fill_spec_columns(apps: Any, schema_editor: Any) -> None:
    Job = apps.get_model("jobs", "Job")
    db = schema_editor.connection.alias
    batch: list[Any] = []
    for job in Job.objects.using(db).only("id", "spec").order_by("id").iterator(chunk_size=2000):
        columns = _columns(job.spec)
        job.accepted_accelerators = columns.accepted_accelerators
        job.device_count = columns.device_count
        batch.append(job)
        if len(batch) >= _CHUNK:
            Job.objects.using(db).bulk_update(batch, ["accepted_accelerators", "device_count"])
            batch = []
    if batch:
        Job.objects.using(db).bulk_update(batch, ["accepted_accelerators", "device_count"])


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0002_jobevent_one_metric_per_step"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="accepted_accelerators",
            field=models.JSONField(default=default_accelerators),
        ),
        migrations.AddField(
            model_name="job",
            name="device_count",
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.RunPython(fill_spec_columns, migrations.RunPython.noop),
    ]
