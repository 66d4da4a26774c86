"""Checkpoints moved from files under DOJO_DATA_DIR into object storage: the row names the
object's key instead of a path. Rows of the old layout keep their value, which no longer
resolves in the store; a job resuming from one starts its segment from the previous
readable checkpoint or from step 0 (checkpoints are kept only while their job runs)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("jobs", "0003_job_spec_columns")]

    operations = [migrations.RenameField("checkpoint", "path", "key")]
