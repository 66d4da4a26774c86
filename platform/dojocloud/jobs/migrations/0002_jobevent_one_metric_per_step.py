"""One metric event per (job, step). Segments re-run after a lost lease used to write their
steps' points again; the duplicates (all but the first of each step) are removed before the
unique index is built."""

import django.db.models.fields.json
from django.db import migrations, models

_CHUNK = 1000


def drop_duplicate_points(apps, schema_editor):  # type: ignore[no-untyped-def]
    JobEvent = apps.get_model("jobs", "JobEvent")
    db = schema_editor.connection.alias
    rows = (
        JobEvent.objects.using(db)
        .filter(kind="metric")
        .order_by("job_id", "id")
        .values_list("id", "job_id", "data")
        .iterator(chunk_size=5000)
    )
    seen: set[object] = set()
    current_job = None
    doomed: list[int] = []
    for event_id, job_id, data in rows:
        if job_id != current_job:
            current_job, seen = job_id, set()
        step = data.get("step") if isinstance(data, dict) else None
        if step is None:
            continue
        if step in seen:
            doomed.append(event_id)
        seen.add(step)
    for i in range(0, len(doomed), _CHUNK):
        JobEvent.objects.using(db).filter(id__in=doomed[i : i + _CHUNK]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(drop_duplicate_points, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="jobevent",
            constraint=models.UniqueConstraint(
                models.F("job"),
                django.db.models.fields.json.KeyTransform("step", "data"),
                condition=models.Q(("kind", "metric")),
                name="jobevent_one_metric_per_step",
            ),
        ),
    ]
