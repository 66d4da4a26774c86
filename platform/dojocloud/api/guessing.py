"""Limits on guessing API keys: failed authentications counted per peer address.

After `DOJO_AUTH_FAILURE_LIMIT` failures from one address within `DOJO_AUTH_FAILURE_WINDOW_S`
(the window opens at the first failure), every call from that address, with any key, gets
RESOURCE_EXHAUSTED with RetryInfo until the window ends; other addresses are unaffected.
The counters live in Redis (dojocloud.common.ratelimit), so the limit holds across all API
processes. The peer is the TCP address gRPC sees: behind a proxy or load balancer that is
the proxy's, so such deployments should limit at the proxy as well.
"""

from __future__ import annotations

import ipaddress
import logging

from django.conf import settings

from dojocloud.common import ratelimit
from dojocloud.common.errors import ResourceExhausted

NAME = "authfail"
log = logging.getLogger(__name__)


def _window() -> ratelimit.Window:
    return ratelimit.Window(settings.AUTH_FAILURE_LIMIT, settings.AUTH_FAILURE_WINDOW_S)


def exempt(method: str) -> bool:
    """Health checks and reflection carry no keys and are never limited."""
    return method.startswith("/grpc.")


def peer_address(peer: str) -> str:
    """ "ipv4:10.0.0.7:53211" → "10.0.0.7": the port changes with every connection, so a
    guesser reconnecting must not get a fresh count. IPv4-mapped IPv6 counts as IPv4."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rsplit(":", 1)[0]
    if kind == "ipv6":
        host = rest.rsplit(":", 1)[0].strip("[]")
        try:
            address = ipaddress.IPv6Address(host)
        except ValueError:
            return host
        return str(address.ipv4_mapped or address)
    return peer  # unix sockets and the like: the whole peer string


def check_peer(peer: str, method: str) -> None:
    """Raises ResourceExhausted (with the retry delay) while the caller's address (`peer`, as
    the call's context names it) is over its limit of failed authentications."""
    if exempt(method):
        return
    address = peer_address(peer)
    delay = ratelimit.retry_after(NAME, address, _window())
    if delay is not None:
        raise ResourceExhausted(
            f"too many failed API-key authentications from {address}: at most "
            f"{settings.AUTH_FAILURE_LIMIT} per {settings.AUTH_FAILURE_WINDOW_S:g}s; "
            f"retry in {delay:.0f}s",
            subject=f"peer:{address}",
            retry_after_s=delay,
        )


def failed(peer: str, method: str) -> None:
    """Counts one failed authentication from the caller's address."""
    if exempt(method):
        return
    address = peer_address(peer)
    counted = ratelimit.hit(NAME, address, _window())
    if counted is not None and counted.count == settings.AUTH_FAILURE_LIMIT:
        log.warning(
            "failed API-key authentications from %s reached the limit (%s); refusing it for %.0fs",
            address,
            method,
            counted.window_left_s,
        )
