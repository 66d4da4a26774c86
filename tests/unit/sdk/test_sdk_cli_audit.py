"""`dojo audit list`'s parts that need no server: the --since/--until forms and the change
column (the command against a real server: tests/integration/api/test_api_audit.py)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import pytest

from dojo.cli import build_parser
from dojo.cli_audit import change, render_events, when


def test_when_takes_iso_dates_times_and_ages() -> None:
    assert when("2026-01-31") == datetime(2026, 1, 31, tzinfo=UTC)
    assert when("2026-01-31T12:30:00+02:00").utcoffset() == timedelta(hours=2)
    assert when("2026-01-31T12:30Z") == datetime(2026, 1, 31, 12, 30, tzinfo=UTC)
    week_ago = when("7d")
    age = datetime.now(UTC) - week_ago
    assert timedelta(days=7) <= age < timedelta(days=7, minutes=1)
    with pytest.raises(argparse.ArgumentTypeError, match="ISO date"):
        when("last tuesday")


def test_change_names_what_changed() -> None:
    assert change({"role": "member", "x": 1}, {"role": "admin", "x": 1}) == "role: member → admin"
    assert change(None, {"name": "ci"}) == '{"name": "ci"}'
    assert change({"name": "ci"}, None) == 'was {"name": "ci"}'
    assert change(None, None) == ""
    assert len(change(None, {"k": "v" * 500})) == 70


def test_the_parser_knows_the_audit_group() -> None:
    args = build_parser().parse_args(["audit", "list", "--action", "member.", "--all"])
    assert args.action == "member." and args.all
    with pytest.raises(SystemExit):
        build_parser().parse_args(["audit", "list", "--all", "--org", "acme"])
    assert render_events([], "text") == "no audit events" and render_events([], "json") == ""
