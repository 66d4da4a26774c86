"""Who a Principal is in the audit trail: the user, or the API key by its prefix and its
creator ("key dojo_ab12cd34 (alice)"), and the address the adapter saw the call come from.
Never the key itself: only its prefix, which is no secret (the portal lists it)."""

from __future__ import annotations

from dojocloud.audit.facade import Actor
from dojocloud.tenancy.models import ApiKey
from dojocloud.tenancy.permissions import Principal


def key_label(prefix: str, creator: str) -> str:
    return f"key dojo_{prefix} ({creator})"


def actor_for(principal: Principal, source: str = "") -> Actor:
    """The audit Actor of `principal`, calling from `source` (an IP address or gRPC peer)."""
    user = principal.user
    if principal.api_key_id is None:
        return Actor.for_user(user, source)
    prefix = ApiKey.objects.filter(id=principal.api_key_id).values_list("prefix", flat=True).first()
    creator = user.get_username() if user is not None else "deleted user"
    return Actor(
        label=key_label(prefix or "?", creator),
        user_id=user.pk if user is not None else None,
        source=source,
    )
