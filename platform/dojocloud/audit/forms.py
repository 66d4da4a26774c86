"""The audit log's filter form and row summaries, shared by the portal's page (one
organization) and the console's (everything): parse the query string once, the same way."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django import forms

from dojocloud.audit.events import AuditAction
from dojocloud.audit.services import MAX_ACTOR_FILTER, AuditFilter, AuditRow

CHANGE_WIDTH = 120


def _action_choices() -> list[tuple[str, str]]:
    names = [str(a) for a in AuditAction]
    prefixes = sorted({n.split(".")[0] + "." for n in names if "." in n})
    return [
        ("", "All events"),
        ("Kinds", [(p, f"{p.rstrip('.')}: any") for p in prefixes]),  # type: ignore[list-item]
        ("Events", [(n, n) for n in names]),  # type: ignore[list-item]
    ]


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(choices=_action_choices, required=False, label="Event")
    actor = forms.CharField(
        max_length=MAX_ACTOR_FILTER,
        required=False,
        label="Who",
        widget=forms.TextInput(attrs={"placeholder": "user or key prefix"}),
    )
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", "must be on or after From")
        return data

    def to_filter(self, organization_id: int | None, account_of: int | None = None) -> AuditFilter:
        """The dates as whole UTC days: From's midnight up to the day after To."""
        data = self.cleaned_data
        since, until = data.get("since"), data.get("until")
        return AuditFilter(
            organization_id=organization_id,
            action=data.get("action") or "",
            actor=(data.get("actor") or "").strip(),
            since=datetime.combine(since, time.min, UTC) if since else None,
            until=datetime.combine(until, time.min, UTC) + timedelta(days=1) if until else None,
            account_of=account_of,
        )


def _short(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def change(row: AuditRow) -> str:
    """What changed, briefly: "role: member → admin" per changed key, or the new state."""
    before, after = row.before, row.after
    if isinstance(before, dict) and isinstance(after, dict):
        text = "; ".join(
            f"{k}: {_short(before.get(k))} → {_short(after.get(k))}"
            for k in sorted(set(before) | set(after))
            if before.get(k) != after.get(k)
        )
    elif after is not None:
        text = _short(after)
    elif before is not None:
        text = f"was {_short(before)}"
    else:
        text = ""
    return text if len(text) <= CHANGE_WIDTH else text[: CHANGE_WIDTH - 1] + "…"
