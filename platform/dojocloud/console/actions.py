"""Operator action views behind the overview page's forms: POST only (CSRF-checked by the
middleware), operators only (console.access: tenancy's console grant). Each parses the
form, calls a scheduling service with the staff user as actor, and returns to the overview
with a message."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from dojocloud.audit.facade import Actor
from dojocloud.common.errors import DojoError, FieldViolation, InvalidArgument
from dojocloud.console.access import console_view
from dojocloud.jobs import facade as jobs
from dojocloud.scheduling import facade as scheduling
from dojocloud.scheduling.facade import QuotaSpec

T = TypeVar("T")

DEVICE_ACTIONS: dict[str, Callable[..., scheduling.OperationResult]] = {
    "drain": lambda t, **kw: scheduling.drain(t, evict=False, **kw),
    "evict": lambda t, **kw: scheduling.drain(t, evict=True, **kw),
    "undrain": scheduling.undrain,
    "fail": scheduling.mark_failed,
}
JOB_ACTIONS = {"preempt": scheduling.preempt_job, "requeue": scheduling.requeue_job}
CANCEL = "cancel"  # a tenant's job, for good: its own view (the audit row needs the user)


def _actor(request: HttpRequest) -> str:
    return f"user:{request.user.get_username()}"


def audit_actor(request: HttpRequest) -> Actor:
    """The staff user as the audit trail names them, from the request's address."""
    return Actor.for_user(request.user, str(request.META.get("REMOTE_ADDR", "") or ""))  # type: ignore[arg-type]


def _done(request: HttpRequest, work: Callable[[], str]) -> HttpResponse:
    try:
        messages.success(request, work())
    except DojoError as err:
        messages.error(request, err.message)
    return redirect("console:overview")


def _bad(field: str, why: str) -> InvalidArgument:
    return InvalidArgument([FieldViolation(field, why)])


def _call(
    request: HttpRequest, actions: Mapping[str, Callable[..., T]], subject: str, choices: str
) -> T:
    """The form's action, looked up in `actions`, on the form's `subject` field."""
    action = actions.get(request.POST.get("action", ""))
    if action is None:
        raise _bad("action", choices)
    return action(
        request.POST.get(subject, ""),
        actor=_actor(request),
        reason=request.POST.get("reason", ""),
        audit_actor=audit_actor(request),
    )


@console_view
@require_POST
def device_action(request: HttpRequest) -> HttpResponse:
    def work() -> str:
        result = _call(request, DEVICE_ACTIONS, "target", "one of " + ", ".join(DEVICE_ACTIONS))
        return (
            f"{request.POST['action']}: {result.target} ({result.devices} devices, "
            f"{len(result.jobs)} jobs there)"
        )

    return _done(request, work)


@console_view
@require_POST
def job_action(request: HttpRequest) -> HttpResponse:
    def work() -> str:
        if request.POST.get("action") == CANCEL:
            job = jobs.cancel_job_as_operator(
                request.POST.get("job_id", ""),
                # console_view admits only an active staff user
                actor=Actor.for_user(
                    request.user,  # type: ignore[arg-type]
                    request.META.get("REMOTE_ADDR", ""),
                ),
                reason=request.POST.get("reason", ""),
            )
            return f"cancel: job {job.id} of {job.organization.slug} is {job.state}"
        job = _call(request, JOB_ACTIONS, "job_id", "preempt, requeue or cancel")
        return f"{request.POST['action']}: job {job.id} is {job.state}"

    return _done(request, work)


def _int(request: HttpRequest, field: str, *, optional: bool) -> int | None:
    raw = request.POST.get(field, "").strip()
    if not raw and optional:
        return None
    try:
        return int(raw)
    except ValueError:
        raise _bad(field, "a whole number" + (" or blank" if optional else "")) from None


def _weight(request: HttpRequest) -> float:
    try:
        return float(request.POST.get("weight", "").strip() or 1.0)
    except ValueError:
        raise _bad("weight", "a number") from None


@console_view
@require_POST
def quota_action(request: HttpRequest) -> HttpResponse:
    def work() -> str:
        spec = QuotaSpec(
            tenant=request.POST.get("tenant", "").strip(),
            pool=request.POST.get("pool", "").strip(),
            nominal=_int(request, "nominal", optional=False) or 0,
            borrowing_limit=_int(request, "borrowing_limit", optional=True),
            lending_limit=_int(request, "lending_limit", optional=True),
            cohort=request.POST.get("cohort", "").strip() or "default",
            weight=_weight(request),
        )
        view = scheduling.set_quota(
            spec,
            actor=_actor(request),
            reason=request.POST.get("reason", ""),
            audit_actor=audit_actor(request),
        )
        return f"quota of {view.spec.tenant} in {view.spec.pool}: {view.spec.nominal} nominal"

    return _done(request, work)
