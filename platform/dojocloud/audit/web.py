"""What the portal's and the console's audit pages share: one page of rows for a filter
form, the CSV export as a streamed response, and a bad filter as a 400 naming the fields.
The caller decides whose rows (the filter's organization): the portal binds it to the
caller's organization, the console lets operators choose."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone

from dojocloud.audit.forms import AuditFilterForm, change
from dojocloud.audit.services import AuditFilter, AuditPage, check_filter, csv_lines, iter_events
from dojocloud.audit.services import list_events as _list_events
from dojocloud.common.errors import InvalidArgument


def filter_query(request: HttpRequest) -> str:
    """The query string without the page token: the filters, for the pager and the CSV."""
    query = request.GET.copy()
    query.pop("page_token", None)
    return str(query.urlencode())


def page_context(
    request: HttpRequest, form: AuditFilterForm, flt: AuditFilter | None, *, page_size: int
) -> dict[str, Any]:
    """The template's context for one page (no rows for a bad filter: the form says why)."""
    token = request.GET.get("page_token", "")
    page = AuditPage(rows=[], next_page_token="")
    if flt is not None:
        try:
            page = _list_events(flt, page_size=page_size, page_token=token)
        except InvalidArgument as exc:
            for v in exc.violations:
                form.add_error(None, f"{v.field}: {v.description}")
    return {
        "form": form,
        "rows": [{"row": r, "change": change(r)} for r in page.rows],
        "next_token": page.next_page_token,
        "first_page": not token,
        "query": filter_query(request),
    }


def bad_filter(errors: Mapping[str, Sequence[Any]]) -> HttpResponse:
    text = "".join(f"{field}: {' '.join(str(e) for e in es)}\n" for field, es in errors.items())
    return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")


def csv_response(flt: AuditFilter, name: str) -> HttpResponse | StreamingHttpResponse:
    """Every row the filter matches, newest first, streamed as it is read; a filter the
    service refuses is a 400 before the download starts."""
    try:
        check_filter(flt)
    except InvalidArgument as exc:
        return bad_filter({v.field: [v.description] for v in exc.violations})
    response = StreamingHttpResponse(
        csv_lines(iter_events(flt)), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{name}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
