"""The Datasets pages: the organization's uploaded datasets (list), an upload form (upload.js
sends it in resumable chunks with drag and drop and a progress bar; without JavaScript a
plain multipart POST, streamed into the same resumable upload in chunks of at most
MAX_CHUNK; see views.uploads), a dataset's detail (shapes, class counts, sha256, the jobs
naming it) and delete.

Another organization's dataset, and an id that could not be one, are 404 alike."""

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
from dojocloud.tenancy.facade import Action, Principal, actor_for

JOBS_SHOWN = 50
# The upload's metadata fields, as the facade names them, and the form field they belong to.
PAGE = uploads.UploadPage(
    kind=datasets.DATASET,
    noun="Dataset",
    id_field="dataset_id",
    fields={
        "metadata.dataset_id": "dataset_id",
        "metadata.display_name": "display_name",
        "metadata.format": "format",
        "metadata.size": "file",
        "metadata.sha256": "file",
        "metadata.upload_id": "file",
        "metadata.offset": "file",
        "upload_id": "file",
        "chunk": "file",
        "file": "file",
    },
    detail_url="portal:dataset-detail",
)


class DatasetUploadForm(forms.Form):
    file = forms.FileField(
        label="File",
        help_text=".npz with x (float32, [N, ...], images channels-first) and y (int64, [N]); "
        "or a UTF-8 text corpus",
    )
    dataset_id = forms.CharField(
        max_length=63,
        label="Dataset id",
        help_text="a-z, 0-9 and '-': the dataset is organizations/{org}/datasets/{id}",
        widget=forms.TextInput(attrs={"placeholder": "e.g. digits-2025"}),
    )
    format = forms.ChoiceField(
        choices=[(datasets.NPZ, "npz arrays"), (datasets.TEXT, "UTF-8 text")],
        initial=datasets.NPZ,
        label="Format",
    )
    display_name = forms.CharField(max_length=200, required=False, label="Display name")


def _list_page(
    request: HttpRequest, principal: Principal, form: DatasetUploadForm | None
) -> HttpResponse:
    return render(
        request,
        "portal/dataset_list.html",
        base_context(
            principal,
            form=form,
            datasets=datasets.datasets_for(principal).order_by("dataset_id"),
            used=datasets.storage_used(principal.organization),
            chunk_bytes=datasets.MAX_CHUNK,
        ),
        status=400 if form is not None and form.errors else 200,
    )


@require_GET
@portal_view(Action.DATASETS_READ)
def dataset_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    # The form only shows or hides: dataset_upload enforces the table.
    form = DatasetUploadForm() if principal.can(Action.DATASETS_WRITE) else None
    return _list_page(request, principal, form)


@require_POST
@portal_view(Action.DATASETS_WRITE)
def dataset_upload(request: HttpRequest, principal: Principal) -> HttpResponse:
    return uploads.form_post(
        PAGE,
        request,
        principal,
        DatasetUploadForm(request.POST, request.FILES),
        lambda form: _list_page(request, principal, form),
    )


@require_POST
@portal_view(Action.DATASETS_WRITE)
def dataset_upload_chunk(request: HttpRequest, principal: Principal) -> JsonResponse:
    return uploads.chunk(PAGE, request, principal)


@require_GET
@portal_view(Action.DATASETS_WRITE)
def dataset_upload_status(request: HttpRequest, principal: Principal) -> JsonResponse:
    return uploads.status(PAGE, request, principal)


def _dataset(principal: Principal, dataset_id: str) -> datasets.Dataset:
    name = f"organizations/{principal.organization.slug}/datasets/{dataset_id}"
    try:
        return datasets.get_dataset(principal, name)
    except InvalidArgument:  # not even an id: no such dataset
        raise NotFound(name) from None


@require_GET
@portal_view(Action.DATASETS_READ)
def dataset_detail(request: HttpRequest, principal: Principal, dataset_id: str) -> HttpResponse:
    dataset = _dataset(principal, dataset_id)
    users = list(
        jobs.jobs_for(principal)
        .filter(spec__dataset__name=dataset.resource_name)
        .order_by("-created_at")[:JOBS_SHOWN]
    )
    summary = dataset.summary
    counts = [int(c) for c in summary.get("class_counts", [])]
    samples = datasets.previews(dataset)
    return render(
        request,
        "portal/dataset_detail.html",
        base_context(
            principal,
            dataset=dataset,
            summary=summary,
            class_counts=list(enumerate(counts)),
            samples=list(enumerate(samples)),
            jobs=users,
            can_delete=principal.can(Action.DATASETS_WRITE),
        ),
    )


@require_GET
@portal_view(Action.DATASETS_READ)
def dataset_preview(
    request: HttpRequest, principal: Principal, dataset_id: str, n: int
) -> HttpResponse:
    """The dataset's n-th sample image as a PNG (rendered on the server; 404 when there is
    none, or the dataset is another organization's)."""
    samples = datasets.previews(_dataset(principal, dataset_id))
    if n >= len(samples):
        raise NotFound(f"{dataset_id}/preview/{n}")
    response = HttpResponse(samples[n].png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_POST
@portal_view(Action.DATASETS_WRITE)
def dataset_delete(request: HttpRequest, principal: Principal, dataset_id: str) -> HttpResponse:
    dataset = _dataset(principal, dataset_id)
    try:
        datasets.delete_dataset(
            principal, dataset.resource_name, actor_for(principal, remote_addr(request))
        )
    except FailedPrecondition as exc:
        messages.error(request, f"Not deleted: {exc.message}")
        return redirect("portal:dataset-detail", dataset_id=dataset.dataset_id)
    messages.success(request, f"Dataset {dataset.dataset_id} deleted.")
    return redirect("portal:dataset-list")
