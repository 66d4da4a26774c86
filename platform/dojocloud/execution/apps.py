from django.apps import AppConfig


class ExecutionConfig(AppConfig):
    """The worker side: Celery tasks, the segment runner, checkpoints, heartbeats, dispatch
    and progress. It publishes a segment's end through jobs' segment_ended port."""

    name = "dojocloud.execution"
    label = "execution"
