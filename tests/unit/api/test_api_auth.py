from __future__ import annotations

import pytest

from dojocloud.api.auth import api_key_from_metadata
from dojocloud.common.errors import Unauthenticated


@pytest.mark.parametrize(
    ("metadata", "key"),
    [
        ([("authorization", "Bearer dojo_ab_cd")], "dojo_ab_cd"),
        ([("Authorization", "bearer   dojo_ab_cd ")], "dojo_ab_cd"),
        ([("x-api-key", "dojo_x_y")], "dojo_x_y"),
        ([("x-api-key", "k1"), ("authorization", "Bearer k2")], "k2"),  # Bearer wins
        ([("user-agent", "grpc"), ("x-api-key", "k")], "k"),
    ],
)
def test_key_from_metadata(metadata: list[tuple[str, str]], key: str) -> None:
    assert api_key_from_metadata(metadata) == key


@pytest.mark.parametrize(
    ("metadata", "words"),
    [
        ([], "missing API key"),
        (None, "missing API key"),
        ([("authorization", "Basic abc")], "Bearer"),
        ([("authorization", "Bearer ")], "Bearer"),
        ([("x-api-key", "  ")], "missing API key"),
        ([("x-api-key-bin", b"k")], "missing API key"),
    ],
)
def test_missing_or_malformed(metadata: list[tuple[str, object]] | None, words: str) -> None:
    with pytest.raises(Unauthenticated, match=words):
        api_key_from_metadata(metadata)
