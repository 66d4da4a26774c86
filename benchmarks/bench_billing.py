"""Billing benchmarks, in one process on a fresh SQLite database (a temporary folder).

estimate_vs_bill  per example spec in examples/: the ratio of the billed device-seconds
                  (the ledger rows of the job run a few steps through the real segment path)
                  to the estimate's for the option it ran on; 1.0 is the Decision's promise.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from benchmarks.report import bench

REPO = Path(__file__).resolve().parents[1]
STEPS = 4


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="dojo-bench-billing-") as tmp:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
        os.environ["DOJO_DATA_DIR"] = tmp
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dojocloud.settings")
        import django

        django.setup()
        from django.contrib.auth.models import User
        from django.core.management import call_command

        from dojocloud.common.inventory import inventory
        from dojocloud.scheduling import capacity
        from dojocloud.tenancy.services import create_organization, principal_for_user
        from tests.support.billing_run import bill_example

        call_command("migrate", verbosity=0)
        capacity.sync_inventory(inventory())
        owner = User.objects.create_user("bench")
        create_organization("bench", "Bench", owner)
        principal = principal_for_user(owner)
        for example in sorted((REPO / "examples").glob("*.yaml")):
            r = bill_example(principal, example, steps=STEPS)
            bench(
                f"estimate_vs_bill[{r.example}]",
                float(r.billed_device_seconds),
                "device-seconds",
                baseline=r.estimated_device_seconds,
                accelerator=r.accelerator,
                count=r.count,
                billed_usd=f"{r.billed_usd:.9f}",
                estimated_usd=round(r.estimated_usd, 9),
            )


if __name__ == "__main__":
    main()
