"""The Datasets pages: the organization's uploaded datasets (list), an upload form (a plain
multipart POST, streamed into the datasets facade's resumable upload in chunks of at most
MAX_CHUNK), a dataset's detail (shapes, class counts, sha256, the jobs naming it) and delete.

Another organization's dataset, and an id that could not be one, are 404 alike."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator

from django import forms
from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from dojocloud.common.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
)
from dojocloud.datasets import facade as datasets
from dojocloud.jobs import facade as jobs
from dojocloud.portal.views.common import base_context, portal_view, remote_addr
from dojocloud.tenancy.facade import Action, Principal, actor_for

JOBS_SHOWN = 50
# The upload's metadata fields, as the facade names them, and the form field they belong to.
_FIELDS = {
    "metadata.dataset_id": "dataset_id",
    "metadata.display_name": "display_name",
    "metadata.format": "format",
    "metadata.size": "file",
    "metadata.sha256": "file",
    "chunk": "file",
    "file": "file",
}


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


def file_chunks(file: UploadedFile) -> Iterator[bytes]:
    # Read by hand: an in-memory upload's chunks() returns the whole file at once.
    file.seek(0)
    while chunk := file.read(datasets.MAX_CHUNK):
        yield chunk


def file_sha256(file: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in file_chunks(file):
        digest.update(chunk)
    return digest.hexdigest()


def _upload(request: HttpRequest, principal: Principal, form: DatasetUploadForm) -> str | None:
    """Streams the posted file into the datasets facade; the dataset's id, or None with the
    problems added to `form` as field errors."""
    file: UploadedFile = form.cleaned_data["file"]
    upload = datasets.UploadRequest(
        dataset_id=form.cleaned_data["dataset_id"].strip(),
        format=form.cleaned_data["format"],
        size=int(file.size or 0),
        sha256=file_sha256(file),
        # One browser POST carries the whole file: nothing to resume, a fresh upload each time.
        upload_id=f"portal-{uuid.uuid4().hex}",
        display_name=form.cleaned_data["display_name"].strip(),
    )
    try:
        dataset = datasets.upload(
            principal, upload, file_chunks(file), actor_for(principal, remote_addr(request))
        )
    except InvalidArgument as exc:
        for v in exc.violations:
            form.add_error(_FIELDS.get(v.field), v.description)
        return None
    except AlreadyExists:
        form.add_error("dataset_id", f"{upload.dataset_id} already exists in this organization")
        return None
    except ResourceExhausted as exc:
        form.add_error("file", exc.message)
        return None
    except FailedPrecondition as exc:
        form.add_error(None, exc.message)
        return None
    return dataset.dataset_id


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
    form = DatasetUploadForm(request.POST, request.FILES)
    if form.is_valid():
        created = _upload(request, principal, form)
        if created is not None:
            messages.success(request, f"Dataset {created} uploaded.")
            return redirect("portal:dataset-detail", dataset_id=created)
    return _list_page(request, principal, form)


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
    return render(
        request,
        "portal/dataset_detail.html",
        base_context(
            principal,
            dataset=dataset,
            summary=summary,
            class_counts=list(enumerate(counts)),
            jobs=users,
            can_delete=principal.can(Action.DATASETS_WRITE),
        ),
    )


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
