"""manage.py seed_demo: idempotent demo data for `make up`. It composes tenancy (the demo
organization, users and API key, see dojocloud.tenancy.demo; the operators' organization,
its operator and key, dojocloud.tenancy.operators) and scheduling (the devices of the
inventory), so it belongs to a top-layer app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dojocloud.common.inventory import inventory
from dojocloud.scheduling.facade import sync_inventory
from dojocloud.tenancy.facade import seed_demo, seed_operators


class Command(BaseCommand):
    help = "Create the demo organization, its owner, a console admin and an API key."

    def add_arguments(self, parser: CommandParser) -> None:
        # grpcs:// when the API serves TLS (DOJO_GRPC_TLS_CERT), so clients turn TLS on
        tls = "grpcs://" if settings.GRPC_TLS_CERT is not None else ""
        parser.add_argument(
            "--server", default=tls + settings.GRPC_ADDR, help="DOJO_SERVER written to the env file"
        )
        parser.add_argument("--env-file", default=str(settings.DEMO_ENV_FILE))
        parser.add_argument("--operator-env-file", default=str(settings.OPERATOR_ENV_FILE))

    def handle(self, *args: Any, **options: Any) -> None:
        password = settings.DEMO_PASSWORD
        if not password:
            raise CommandError("set DOJO_DEMO_PASSWORD (there is no default when DEBUG is off)")
        devices = sync_inventory(inventory())
        seed = seed_demo(
            password=password, env_file=Path(options["env_file"]), server=options["server"]
        )
        out = self.stdout
        out.write(f"organization: {seed.organization.slug}   devices in inventory: {devices}")
        out.write(
            f"portal login: {seed.owner.username} / (DOJO_DEMO_PASSWORD or the DEBUG "
            f"default)   console: {seed.admin.username}"
        )
        if seed.raw_key:
            out.write(f"API key (shown once): {seed.raw_key}")
            out.write(f"written to {seed.env_file}")
        else:
            out.write(f"API key: unchanged, in {seed.env_file}")
        ops = seed_operators(
            password=password,
            env_file=Path(options["operator_env_file"]),
            server=options["server"],
        )
        out.write(
            f"operators: organization {ops.organization.slug}, login {ops.operator.username} "
            "(same password; staff: the console too)"
        )
        if ops.raw_key:
            out.write(f"operator API key (shown once): {ops.raw_key}")
            out.write(f"written to {ops.env_file}")
        else:
            out.write(f"operator API key: unchanged, in {ops.env_file}")
