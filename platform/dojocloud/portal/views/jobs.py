"""Job pages: list, submit (form or YAML), pre-submit estimate, detail, live events, cancel."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dojocloud.artifacts import facade as artifacts
from dojocloud.billing import facade as billing
from dojocloud.common.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
)
from dojocloud.datasets import facade as datasets
from dojocloud.jobs import facade as jobs
from dojocloud.portal import presenters
from dojocloud.portal.forms import DATASET_SUGGESTIONS, DEFAULTS, JobSpecForm, YamlSpecForm
from dojocloud.portal.spec_input import SpecInput, read_spec
from dojocloud.portal.spec_mapping import form_initial_from_spec
from dojocloud.portal.views.common import base_context, portal_view
from dojocloud.tenancy.facade import Action, Principal

PAGE_SIZE = 25
EVENTS_PER_POLL = 500


@require_GET
@portal_view(Action.JOBS_READ)
def job_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    state = request.GET.get("state", "").upper()
    token = request.GET.get("page_token", "")
    try:
        rows, next_token = jobs.list_jobs(
            principal, page_size=PAGE_SIZE, page_token=token, state=state
        )
    except InvalidArgument as exc:
        messages.error(request, exc.message)
        return redirect("portal:job-list")
    costs = billing.job_costs(j.id for j in rows)  # one query for the page
    job_rows = [presenters.job_row(j, costs.get(j.id)) for j in rows]
    return render(
        request,
        "portal/job_list.html",
        base_context(
            principal,
            jobs=job_rows,
            next_token=next_token,
            state=state,
            states=presenters.STATES,
            first_page=not token,
            live=presenters.any_active(job_rows),
        ),
    )


@require_http_methods(["GET", "POST"])
@portal_view(Action.JOBS_SUBMIT)
def job_new(request: HttpRequest, principal: Principal) -> HttpResponse:
    if request.method == "GET":  # a viewer gets the 403 page (portal_view), not the form
        return _render_new(request, principal, _blank_input(request, principal))
    spec_input = read_spec(request.POST, request.FILES, principal.organization)
    if spec_input.spec is not None:
        try:
            job = jobs.create_job(
                principal, spec_input.spec, request_id=request.POST.get("request_id", "")
            )
        except InvalidArgument as exc:
            spec_input.add_violations(exc.violations)
        except NotFound as exc:  # an uploaded dataset that is missing (or another org's)
            spec_input.add_violations([FieldViolation("dataset.name", exc.message)])
        except ResourceExhausted as exc:  # the organization's CreateJob rate
            messages.error(request, exc.message)
            return _render_new(request, principal, spec_input, status=429)
        else:
            messages.success(request, f"Job {job.id} submitted.")
            return redirect("portal:job-detail", job_id=job.id)
    return _render_new(request, principal, spec_input, status=400)


def _blank_input(request: HttpRequest, principal: Principal) -> SpecInput:
    """Empty forms, or a copy of one of the caller's jobs when `?from=<job id>`."""
    initial = dict(DEFAULTS)
    source_id = request.GET.get("from")
    if source_id:
        spec = jobs.spec_of(jobs.get_job(principal, source_id))
        initial = form_initial_from_spec(spec)
    mode = "yaml" if request.GET.get("mode") == "yaml" else "form"
    return SpecInput(mode=mode, form=JobSpecForm(initial=initial), yaml_form=YamlSpecForm())


def _render_new(
    request: HttpRequest, principal: Principal, spec_input: SpecInput, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "portal/job_new.html",
        base_context(
            principal,
            input=spec_input,
            form=spec_input.form,
            yaml_form=spec_input.yaml_form,
            request_id=uuid.uuid4().hex,
            dataset_names=DATASET_SUGGESTIONS
            + (
                [d.resource_name for d in datasets.datasets_for(principal).order_by("dataset_id")]
                if principal.can(Action.DATASETS_READ)
                else []
            ),
            model_names=(
                [m.resource_name for m in datasets.models_for(principal).order_by("model_id")]
                if principal.can(Action.MODELS_READ)
                else []
            ),
        ),
        status=status,
    )


@require_POST
@portal_view(Action.JOBS_ESTIMATE)
def job_estimate(request: HttpRequest, principal: Principal) -> HttpResponse:
    """An htmx fragment: modelled time and cost of the posted spec on each option."""
    spec_input = read_spec(request.POST, request.FILES, principal.organization)
    rows, unavailable = [], ""
    if spec_input.spec is not None:
        try:
            rows = jobs.estimate_job(
                principal,
                spec_input.spec,
                prices=billing.accelerator_prices(preemptible=spec_input.spec.preemptible),
            )
        except InvalidArgument as exc:
            spec_input.add_violations(exc.violations)
        except NotFound as exc:  # an uploaded dataset that is missing (or another org's)
            spec_input.add_violations([FieldViolation("dataset.name", exc.message)])
        except FailedPrecondition as exc:
            unavailable = exc.message
    return render(
        request,
        "portal/_estimate.html",
        {"rows": rows, "errors": spec_input.all_errors(), "unavailable": unavailable},
    )


@require_GET
@portal_view(Action.JOBS_READ)
def job_detail(request: HttpRequest, principal: Principal, job_id: str) -> HttpResponse:
    job = jobs.get_job(principal, job_id)
    events = _all_events(principal, job_id)
    return render(
        request,
        "portal/job_detail.html",
        base_context(
            principal,
            job=presenters.job_detail(job, jobs.spec_of(job)),
            # What its ledger rows have billed so far, as GetJob's `cost` says.
            cost=billing.job_costs([job.id]).get(job.id),
            timeline=[presenters.state_event(e) for e in events if e.kind == "state"],
            artifacts=(
                artifacts.job_artifacts(principal, job.id)
                if principal.can(Action.ARTIFACTS_READ)
                else None
            ),
        ),
    )


def _all_events(principal: Principal, job_id: str, max_pages: int = 40) -> list:
    out: list = []
    for _ in range(max_pages):
        page = jobs.job_events(
            principal, job_id, after_id=out[-1].id if out else 0, limit=EVENTS_PER_POLL
        )
        out.extend(page)
        if len(page) < EVENTS_PER_POLL:
            break
    return out


@require_GET
@portal_view(Action.JOBS_READ)
def job_events_json(request: HttpRequest, principal: Principal, job_id: str) -> JsonResponse:
    """Events after `?after=<id>` and the job's current summary, for the live page."""
    try:
        after = max(0, int(request.GET.get("after", "0")))
    except ValueError:
        after = 0
    job = jobs.get_job(principal, job_id)
    events = jobs.job_events(principal, job_id, after_id=after, limit=EVENTS_PER_POLL)
    return JsonResponse(
        {
            "job": presenters.job_summary_json(job),
            "events": [presenters.event_json(e) for e in events],
            "more": len(events) == EVENTS_PER_POLL,
        }
    )


@require_GET
@portal_view(Action.JOBS_READ)
def job_log_json(request: HttpRequest, principal: Principal, job_id: str) -> JsonResponse:
    """The job's log from `?offset=<bytes>` (up to a read's worth), for the live log pane."""
    try:
        offset = max(0, int(request.GET.get("offset", "0")))
    except ValueError:
        offset = 0
    job = jobs.get_job(principal, job_id)  # 404 for another organization's job
    try:
        read = jobs.read_job_log(principal, job_id, offset=offset)
    except InvalidArgument:  # past the end (a stale offset): start again from the top
        read = jobs.read_job_log(principal, job_id, offset=0)
    return JsonResponse(
        {
            "offset": read.offset,
            "text": read.data.decode(errors="replace"),
            "next_offset": read.next_offset,
            "more": read.next_offset < read.size,
            "final": job.is_final,
        }
    )


@require_POST
@portal_view(Action.JOBS_CANCEL)
def job_cancel(request: HttpRequest, principal: Principal, job_id: str) -> HttpResponse:
    reason = f"cancelled from the portal by {request.user.get_username()}"
    try:
        jobs.cancel_job(principal, job_id, reason=reason)
    except FailedPrecondition as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Cancel requested.")
    return redirect("portal:job-detail", job_id=job_id)
