"""Authentication and authorization of every gRPC call, in one place.

The key comes from call metadata (`authorization: Bearer <key>` or `x-api-key`); the key's
principal is decided at each call (tenancy.authenticate_api_key: the creator's current role,
the key's scope and expiry), and each RPC declares the action it takes with `@rpc(...)`,
checked against tenancy's permission table before the handler runs (the declared action
is the method's `action` attribute, which the generated permission test reads).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import aclosing
from typing import Any, TypeVar, cast

import grpc

from dojocloud.api.offload import InFlight, in_stream_thread
from dojocloud.common.errors import Unauthenticated
from dojocloud.tenancy.facade import Action, Principal, authenticate_api_key, require

S = TypeVar("S")
R = TypeVar("R")
T = TypeVar("T")
Handler = Callable[[S, R, grpc.ServicerContext, Principal], T]
Servicer = Callable[[S, R, grpc.ServicerContext], T]

# Stream openings' decisions in flight, by (the key's SHA-256, action): see `rpc`.
_deciding: InFlight[tuple[str, Action], Principal] = InFlight()


def api_key_from_metadata(metadata: Iterable[tuple[str, Any]] | None) -> str:
    """The raw key, or raises Unauthenticated saying what was wrong with the header."""
    bearer = api_key = ""
    for key, value in metadata or ():
        if isinstance(value, bytes):
            continue  # binary headers (-bin) never carry keys
        if key.lower() == "authorization":
            scheme, _, token = value.strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("authorization metadata must be 'Bearer <api key>'")
            bearer = token.strip()
        elif key.lower() == "x-api-key":
            api_key = value.strip()
    key = bearer or api_key
    if not key:
        raise Unauthenticated(
            "missing API key: send metadata 'authorization: Bearer <key>' or 'x-api-key'"
        )
    return key


def authenticate(context: grpc.ServicerContext) -> Principal:
    """The caller's principal, decided now; Unauthenticated for a key that does not act."""
    return authenticate_api_key(api_key_from_metadata(context.invocation_metadata()))


def authorize(context: grpc.ServicerContext, action: Action) -> Principal:
    """The caller's principal, allowed `action` now; Unauthenticated for a missing, unknown,
    revoked or expired key or one whose creator left or was deactivated, PermissionDenied
    for a role or scope that does not allow it (operators: tenancy's operator grant)."""
    return authorize_metadata(context.invocation_metadata(), action)


def authorize_metadata(metadata: Iterable[tuple[str, Any]] | None, action: Action) -> Principal:
    """`authorize` on the call's metadata (read on the event loop, decided in a thread)."""
    principal = authenticate_api_key(api_key_from_metadata(metadata))
    require(principal, action)
    return principal


def rpc(action: Action) -> Callable[[Handler[S, R, T]], Servicer[S, R, T]]:
    """A servicer method taking the action: authorizes, then calls the method with the
    principal as a fourth argument. A streaming method (a generator) stays one, so the check
    runs where the interceptor maps errors, on the stream's first step; an async generator
    (a stream served on the event loop) is decided in the stream pool's thread, and streams
    that open while a decision on their key and action is being made share it (nothing is
    kept once it is made: the next stream's is made afresh)."""

    def decorate(method: Handler[S, R, T]) -> Servicer[S, R, T]:
        if inspect.isasyncgenfunction(method):

            @functools.wraps(method)
            async def on_loop(self: S, request: R, context: Any) -> AsyncIterator[Any]:
                metadata = context.invocation_metadata()
                # Streams opening at once on one key share the decision in flight.
                digest = hashlib.sha256(api_key_from_metadata(metadata).encode()).hexdigest()
                principal = await _deciding.get(
                    (digest, action),
                    lambda: in_stream_thread(authorize_metadata, metadata, action),
                )
                async with aclosing(method(self, request, context, principal)) as items:
                    async for item in items:
                        yield item

            wrapped = cast(Servicer[S, R, T], on_loop)
        elif inspect.isgeneratorfunction(method):

            @functools.wraps(method)
            def streaming(self: S, request: R, context: grpc.ServicerContext) -> Iterator[Any]:
                principal = authorize(context, action)
                yield from cast(Iterator[Any], method(self, request, context, principal))

            wrapped = cast(Servicer[S, R, T], streaming)
        else:

            @functools.wraps(method)
            def unary(self: S, request: R, context: grpc.ServicerContext) -> T:
                return method(self, request, context, authorize(context, action))

            wrapped = unary
        wrapped.action = action  # type: ignore[attr-defined]
        return wrapped

    return decorate
