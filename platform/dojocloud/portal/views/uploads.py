"""What the Datasets and Models pages share about uploads: reading a posted file in chunks,
and the resumable chunk endpoints that upload.js drives (drag and drop, a progress bar,
resuming from the server's offset after a reload or a dropped connection).

The browser sends one POST per chunk of at most MAX_CHUNK, the chunk as the body and the
upload's metadata in the query (`upload_id`, `offset`, `id`, `format`, `size`, `sha256`,
`display_name`), into the datasets facade's resumable upload, the one the API streams
into. Answers are JSON: {"committed": N} to go on, {"done": true, "url": ...} once the
file is whole and valid, 409 {"committed": N} when the offset is not the server's (the
client resumes from N), 400 {"errors": [{"field", "message"}]} naming the form's field.
The status endpoint tells a returning page where an upload stands (404: not begun).
Without JavaScript the pages post the plain form, streamed into the same upload."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

from django import forms
from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from dojocloud.common.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
)
from dojocloud.datasets import facade as datasets
from dojocloud.portal.views.common import remote_addr
from dojocloud.tenancy.facade import Principal, actor_for

Errors = list[tuple[str | None, str]]  # (form field or None for the form, message)


@dataclass(frozen=True)
class UploadPage:
    """A kind of upload as its page shows it: the facade's kind, the form's id field, the
    facade's field names mapped to the form's, and the detail page's URL name."""

    kind: str  # datasets.DATASET | datasets.MODEL
    noun: str  # "Dataset" | "Model"
    id_field: str  # "dataset_id" | "model_id"
    fields: Mapping[str, str]  # facade field -> form field
    detail_url: str  # "portal:dataset-detail"


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


def upload_errors(page: UploadPage, exc: Exception, resource_id: str) -> Errors:
    """A refused upload's problems as (form field, message), for the form or the JSON."""
    if isinstance(exc, InvalidArgument):
        return [(page.fields.get(v.field), v.description) for v in exc.violations]
    if isinstance(exc, AlreadyExists):
        return [(page.id_field, f"{resource_id} already exists in this organization")]
    if isinstance(exc, ResourceExhausted):
        return [("file", exc.message)]
    if isinstance(exc, FailedPrecondition):
        return [(None, exc.message)]
    raise exc


REFUSALS = (InvalidArgument, AlreadyExists, ResourceExhausted, FailedPrecondition)


F = TypeVar("F", bound=forms.Form)


def form_post(
    page: UploadPage,
    request: HttpRequest,
    principal: Principal,
    form: F,
    list_page: Callable[[F], HttpResponse],
) -> HttpResponse:
    """The plain form's POST (no script): to the new object's page, or the list page again
    with the problems as the form's field errors."""
    if form.is_valid():
        created = _posted_file(page, request, principal, form)
        if created is not None:
            messages.success(request, f"{page.noun} {created} uploaded.")
            return redirect(page.detail_url, created)
    return list_page(form)


def _posted_file(
    page: UploadPage, request: HttpRequest, principal: Principal, form: forms.Form
) -> str | None:
    """Streams the posted file into the facade's upload of the page's kind; the new id, or
    None with the problems added to `form`."""
    file: UploadedFile = form.cleaned_data["file"]
    upload = datasets.UploadRequest(
        dataset_id=form.cleaned_data[page.id_field].strip(),
        format=datasets.ONNX if page.kind == datasets.MODEL else form.cleaned_data["format"],
        size=int(file.size or 0),
        sha256=file_sha256(file),
        # One browser POST carries the whole file: nothing to resume, a fresh upload each time.
        upload_id=f"portal-{uuid.uuid4().hex}",
        display_name=form.cleaned_data["display_name"].strip(),
    )
    actor = actor_for(principal, remote_addr(request))
    try:
        if page.kind == datasets.MODEL:
            return datasets.upload_model(principal, upload, file_chunks(file), actor).model_id
        return datasets.upload(principal, upload, file_chunks(file), actor).dataset_id
    except REFUSALS as exc:
        for field, message in upload_errors(page, exc, upload.dataset_id):
            form.add_error(field, message)
        return None


def _request(page: UploadPage, request: HttpRequest) -> datasets.UploadRequest:
    q = request.GET
    try:
        size, offset = int(q.get("size", "")), int(q.get("offset", ""))
    except ValueError:
        raise InvalidArgument(
            [FieldViolation("file", "size and offset must be integers")]
        ) from None
    return datasets.UploadRequest(
        dataset_id=q.get("id", "").strip(),
        format=datasets.ONNX if page.kind == datasets.MODEL else q.get("format", ""),
        size=size,
        sha256=q.get("sha256", ""),
        upload_id=q.get("upload_id", ""),
        offset=offset,
        display_name=q.get("display_name", "").strip(),
        kind=page.kind,
    )


def chunk(page: UploadPage, request: HttpRequest, principal: Principal) -> JsonResponse:
    """One chunk (the request's body) of a resumable upload."""
    upload = None
    try:
        upload = _request(page, request)
        state, row = datasets.upload_chunk(
            principal, upload, request.body, actor_for(principal, remote_addr(request))
        )
    except FailedPrecondition as exc:
        if getattr(exc, "reason", "") != "UPLOAD_OFFSET_MISMATCH" or upload is None:
            return _refused(page, exc, upload)
        held = datasets.upload_status(principal, upload.upload_id, page.kind)
        return JsonResponse({"committed": held.committed, "error": exc.message}, status=409)
    except REFUSALS as exc:
        return _refused(page, exc, upload)
    if row is None:
        return JsonResponse({"committed": state.committed})
    messages.success(request, f"{page.noun} {state.dataset_id} uploaded.")
    return JsonResponse(
        {
            "done": True,
            "committed": state.committed,
            "url": reverse(page.detail_url, args=[state.dataset_id]),
        }
    )


def _refused(
    page: UploadPage, exc: Exception, upload: datasets.UploadRequest | None
) -> JsonResponse:
    errors = upload_errors(page, exc, upload.dataset_id if upload else "")
    return JsonResponse(
        {"errors": [{"field": f, "message": m} for f, m in errors]},
        status=413 if isinstance(exc, ResourceExhausted) else 400,
    )


def status(page: UploadPage, request: HttpRequest, principal: Principal) -> JsonResponse:
    """Where the caller's upload `upload_id` stands: {"committed", "size"}; 404 if none."""
    try:
        held = datasets.upload_status(principal, request.GET.get("upload_id", ""), page.kind)
    except NotFound:
        return JsonResponse({"committed": 0}, status=404)
    return JsonResponse({"committed": held.committed, "size": held.size_bytes})
