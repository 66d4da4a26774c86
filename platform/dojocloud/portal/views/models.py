"""The Models pages: the organization's ONNX models (list), an upload form (resumable
chunks from upload.js, or a plain multipart POST, into the same resumable upload as
datasets: views.uploads), a model's detail (the graph's inputs, outputs and op counts, the
jobs naming it) and delete.

Another organization's model, and an id that could not be one, are 404 alike."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from dojocloud.common.errors import FailedPrecondition, InvalidArgument, NotFound
from dojocloud.datasets import facade as datasets
from dojocloud.jobs import facade as jobs
from dojocloud.portal.views import uploads
from dojocloud.portal.views.common import base_context, portal_view, remote_addr
from dojocloud.portal.views.datasets import JOBS_SHOWN
from dojocloud.tenancy.facade import Action, Principal, actor_for

PAGE = uploads.UploadPage(
    kind=datasets.MODEL,
    noun="Model",
    id_field="model_id",
    fields={
        "metadata.model_id": "model_id",
        "metadata.display_name": "display_name",
        "metadata.size": "file",
        "metadata.sha256": "file",
        "metadata.upload_id": "file",
        "metadata.offset": "file",
        "chunk": "file",
        "file": "file",
    },
    detail_url="portal:model-detail",
)


class ModelUploadForm(forms.Form):
    file = forms.FileField(
        label="ONNX file",
        help_text="an .onnx file with its weights inside, e.g. from torch.onnx.export",
    )
    model_id = forms.CharField(
        max_length=63,
        label="Model id",
        help_text="a-z, 0-9 and '-': the model is organizations/{org}/models/{id}",
        widget=forms.TextInput(attrs={"placeholder": "e.g. resnet-small"}),
    )
    display_name = forms.CharField(max_length=200, required=False, label="Display name")


def _list_page(
    request: HttpRequest, principal: Principal, form: ModelUploadForm | None
) -> HttpResponse:
    return render(
        request,
        "portal/model_list.html",
        base_context(
            principal,
            form=form,
            models=datasets.models_for(principal).order_by("model_id"),
            used=datasets.storage_used(principal.organization),
            chunk_bytes=datasets.MAX_CHUNK,
        ),
        status=400 if form is not None and form.errors else 200,
    )


@require_GET
@portal_view(Action.MODELS_READ)
def model_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    form = ModelUploadForm() if principal.can(Action.MODELS_WRITE) else None
    return _list_page(request, principal, form)


@require_POST
@portal_view(Action.MODELS_WRITE)
def model_upload(request: HttpRequest, principal: Principal) -> HttpResponse:
    return uploads.form_post(
        PAGE,
        request,
        principal,
        ModelUploadForm(request.POST, request.FILES),
        lambda form: _list_page(request, principal, form),
    )


@require_POST
@portal_view(Action.MODELS_WRITE)
def model_upload_chunk(request: HttpRequest, principal: Principal) -> JsonResponse:
    return uploads.chunk(PAGE, request, principal)


@require_GET
@portal_view(Action.MODELS_WRITE)
def model_upload_status(request: HttpRequest, principal: Principal) -> JsonResponse:
    return uploads.status(PAGE, request, principal)


def _model(principal: Principal, model_id: str) -> datasets.OnnxModel:
    name = f"organizations/{principal.organization.slug}/models/{model_id}"
    try:
        return datasets.get_model(principal, name)
    except InvalidArgument:  # not even an id: no such model
        raise NotFound(name) from None


@require_GET
@portal_view(Action.MODELS_READ)
def model_detail(request: HttpRequest, principal: Principal, model_id: str) -> HttpResponse:
    model = _model(principal, model_id)
    users = list(
        jobs.jobs_for(principal)
        .filter(spec__model__onnx=model.resource_name)
        .order_by("-created_at")[:JOBS_SHOWN]
    )
    summary = model.summary
    return render(
        request,
        "portal/model_detail.html",
        base_context(
            principal,
            model=model,
            summary=summary,
            op_counts=sorted(summary.get("op_counts", {}).items()),
            jobs=users,
            can_delete=principal.can(Action.MODELS_WRITE),
        ),
    )


@require_POST
@portal_view(Action.MODELS_WRITE)
def model_delete(request: HttpRequest, principal: Principal, model_id: str) -> HttpResponse:
    model = _model(principal, model_id)
    try:
        datasets.delete_model(
            principal, model.resource_name, actor_for(principal, remote_addr(request))
        )
    except FailedPrecondition as exc:
        messages.error(request, f"Not deleted: {exc.message}")
        return redirect("portal:model-detail", model_id=model.model_id)
    messages.success(request, f"Model {model.model_id} deleted.")
    return redirect("portal:model-list")
