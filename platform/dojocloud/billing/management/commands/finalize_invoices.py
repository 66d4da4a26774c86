"""manage.py finalize_invoices [--now ISO]: finalizes every invoice whose month has ended
(what the hourly beat task does); prints one line per invoice it finalized."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dojocloud.billing.invoices import finalize_due
from dojocloud.billing.money import usd


class Command(BaseCommand):
    help = "Finalize every invoice of a month that has ended (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", default=None, help="ISO 8601 time to act at (tests)")

    def handle(self, *args: Any, **options: Any) -> None:
        now = None
        if options["now"]:
            try:
                now = datetime.fromisoformat(options["now"].replace("Z", "+00:00"))
            except ValueError:
                raise CommandError(f"--now: not an ISO 8601 time: {options['now']!r}") from None
            now = now if now.tzinfo else now.replace(tzinfo=UTC)
        done = finalize_due(now=now)
        for inv in done:
            self.stdout.write(
                f"{inv.display_number} {inv.organization.slug} {inv.period} {usd(inv.total_cents)}"
            )
        self.stdout.write(f"finalized {len(done)} invoice(s)")
