"""CreateJob rate per organization: at most `DOJO_CREATE_JOB_RATE` new jobs a minute.

Counted in Redis (dojocloud.common.ratelimit) so every API and web process shares one count;
only accepted specs count (a rejected spec costs nothing to keep), and a request_id replay
returns its job before it gets here.
"""

from __future__ import annotations

from django.conf import settings

from dojocloud.common import ratelimit
from dojocloud.common.errors import ResourceExhausted
from dojocloud.tenancy.facade import Organization

NAME = "createjob"
WINDOW_S = 60.0


def admit_create(organization: Organization) -> None:
    """Counts one new job of `organization`; raises ResourceExhausted (naming the limit, with
    the retry delay) when it is past the organization's rate."""
    window = ratelimit.Window(settings.CREATE_JOB_RATE, WINDOW_S)
    counted = ratelimit.hit(NAME, str(organization.pk), window)
    if counted is None or not counted.over(window):
        return
    raise ResourceExhausted(
        f"CreateJob rate limit: at most {window.limit} jobs per minute per organization "
        f"(DOJO_CREATE_JOB_RATE); organizations/{organization.slug} reached it, retry in "
        f"{counted.window_left_s:.0f}s",
        subject=f"organizations/{organization.slug}",
        retry_after_s=counted.window_left_s,
    )
