"""manage.py seed_prices [--file PATH]: adds the seed file's price for every pool that has
none yet (DOJO_PRICES_FILE, deploy/prices.yaml); prices already set are left alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dojocloud.billing.prices import seed_prices


class Command(BaseCommand):
    help = "Seed the price book from a file (only pools without a price)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", default=None, help="default DOJO_PRICES_FILE")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            added = seed_prices(Path(options["file"]) if options["file"] else None)
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"seeded: {', '.join(added) or 'nothing (every pool has a price)'}")
