"""The Webhooks pages (owners and admins): the organization's endpoints with a form to add
one (its secret is shown once: the add stores it in the session, the redirect's GET takes it
out again), an endpoint's deliveries with every attempt's response, "send test event" and
delete. Another organization's endpoint is a 404."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from dojocloud.common.errors import InvalidArgument
from dojocloud.portal.views.common import base_context, portal_view, remote_addr
from dojocloud.tenancy.facade import Action, Principal, actor_for
from dojocloud.webhooks import facade as webhooks

_NEW_SECRET_SESSION = "portal_new_webhook_secret"


class EndpointForm(forms.Form):
    url = forms.CharField(
        max_length=2000,
        label="Endpoint URL",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks/dojo"}),
    )
    description = forms.CharField(max_length=200, required=False, label="Description")
    event_types = forms.MultipleChoiceField(
        choices=[(str(t), str(t)) for t in webhooks.SUBSCRIBABLE],
        required=False,
        label="Events",
        help_text="None chosen: every event.",
        widget=forms.CheckboxSelectMultiple,
    )


def _list_page(
    request: HttpRequest, principal: Principal, form: EndpointForm, status: int = 200
) -> HttpResponse:
    response = render(
        request,
        "portal/webhooks.html",
        base_context(
            principal,
            form=form,
            new_secret=request.session.pop(_NEW_SECRET_SESSION, None),
            endpoints=webhooks.list_endpoints(principal),
            can_manage=principal.can(Action.WEBHOOKS_MANAGE),
        ),
        status=status,
    )
    response["Cache-Control"] = "no-store"  # the secret must not linger in any cache
    return response


@require_GET
@portal_view(Action.WEBHOOKS_READ)
def webhook_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    return _list_page(request, principal, EndpointForm())


@require_POST
@portal_view(Action.WEBHOOKS_MANAGE)
def webhook_add(request: HttpRequest, principal: Principal) -> HttpResponse:
    form = EndpointForm(request.POST)
    if form.is_valid():
        try:
            made = webhooks.create_endpoint(
                principal,
                form.cleaned_data["url"],
                form.cleaned_data["event_types"],
                form.cleaned_data["description"],
                actor=actor_for(principal, remote_addr(request)),
            )
        except InvalidArgument as exc:
            for v in exc.violations:
                form.add_error(v.field if v.field in form.fields else None, v.description)
        else:
            request.session[_NEW_SECRET_SESSION] = made.secret
            messages.success(
                request, "Endpoint added. Copy its signing secret now: it is not shown again."
            )
            return redirect("portal:webhook-list")
    return _list_page(request, principal, form, status=400)


@require_GET
@portal_view(Action.WEBHOOKS_READ)
def webhook_detail(request: HttpRequest, principal: Principal, endpoint_id: str) -> HttpResponse:
    endpoint = webhooks.get_endpoint(principal, endpoint_id)
    deliveries = webhooks.deliveries_of(principal, endpoint_id)
    tries = webhooks.Attempt.objects.filter(delivery__in=deliveries).order_by("number")
    by_delivery: dict[int, list[webhooks.Attempt]] = {}
    for attempt in tries:
        by_delivery.setdefault(attempt.delivery_id, []).append(attempt)
    rows = [(d, by_delivery.get(d.id, [])) for d in deliveries]
    context = base_context(
        principal,
        endpoint=endpoint,
        rows=rows,
        can_manage=principal.can(Action.WEBHOOKS_MANAGE),
        live=any(d.status == webhooks.DeliveryStatus.PENDING for d in deliveries),
    )
    return render(request, "portal/webhook_detail.html", context)


@require_POST
@portal_view(Action.WEBHOOKS_MANAGE)
def webhook_test(request: HttpRequest, principal: Principal, endpoint_id: str) -> HttpResponse:
    webhooks.send_test(principal, endpoint_id, actor=actor_for(principal, remote_addr(request)))
    messages.success(request, "Test event queued: its delivery appears below.")
    return redirect("portal:webhook-detail", endpoint_id=endpoint_id)


@require_POST
@portal_view(Action.WEBHOOKS_MANAGE)
def webhook_delete(request: HttpRequest, principal: Principal, endpoint_id: str) -> HttpResponse:
    webhooks.delete_endpoint(
        principal, endpoint_id, actor=actor_for(principal, remote_addr(request))
    )
    messages.success(request, "Endpoint deleted: it receives nothing more.")
    return redirect("portal:webhook-list")
