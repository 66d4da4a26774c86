"""Settings of the web process the browser tests start under gunicorn: the platform's own,
plus the MD5 hasher the tests' users are made with (hashing a real password costs a second
a user on a loaded machine), and the runtime's model catalog imported at start-up, as the
tests' own process has it, so the first submit does not spend a page timeout on imports."""

from __future__ import annotations

import importlib
import os

from django.conf import global_settings

from dojocloud.settings import *  # noqa: F403

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    *global_settings.PASSWORD_HASHERS,
]
importlib.import_module("dojo_runtime.catalog")

# A test that follows a task the web queues, with no worker running (a webhook's test event),
# asks for it to run in the web process itself.
CELERY_TASK_ALWAYS_EAGER = os.environ.get("DOJO_TEST_EAGER_TASKS") == "1"
