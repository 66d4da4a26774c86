"""API-key authentication from call metadata: `authorization: Bearer <key>` or `x-api-key`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import grpc

from dojocloud.common.errors import Unauthenticated
from dojocloud.tenancy.facade import Principal, authenticate_api_key


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
            "missing API key: send metadata 'authorization: Bearer <key>' or 'x-api-key'")
    return key


def authenticate(context: grpc.ServicerContext) -> Principal:
    """The caller's principal; raises Unauthenticated for a missing, unknown or revoked key."""
    return authenticate_api_key(api_key_from_metadata(context.invocation_metadata()))
