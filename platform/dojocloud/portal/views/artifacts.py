"""A job's artifact, downloaded from the portal: streamed from object storage through this
view, for members of the job's organization only (another organization's job or artifact
is a 404, as a missing one). The URL names the job and the artifact, never a storage key or
a public, guessable address."""

from __future__ import annotations

from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.views.decorators.http import require_GET

from dojocloud.artifacts import facade as artifacts
from dojocloud.portal.views.common import portal_view
from dojocloud.tenancy.facade import Action, Principal


@require_GET
@portal_view(Action.ARTIFACTS_READ)
def artifact_download(
    request: HttpRequest, principal: Principal, job_id: str, name: str
) -> StreamingHttpResponse:
    resource = f"organizations/{principal.organization.slug}/jobs/{job_id}/artifacts/{name}"
    artifact = artifacts.get_artifact(principal, resource)
    try:
        chunks = artifacts.open_artifact(artifact)
    except FileNotFoundError:  # pruned between the row and the read
        raise Http404(resource) from None
    response = StreamingHttpResponse(chunks, content_type=artifact.content_type)
    response["Content-Length"] = str(artifact.size_bytes)
    response["Content-Disposition"] = f'attachment; filename="{artifact.name}"'
    response["X-Checksum-SHA256"] = artifact.sha256
    response["Cache-Control"] = "private, no-store"
    return response
