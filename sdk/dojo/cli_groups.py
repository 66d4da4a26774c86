"""A `dojo <group> <command>` parser group, as the resource groups (billing, datasets) build
theirs: each command gets the common options and the client class its run function uses."""

from __future__ import annotations

import argparse
from collections.abc import Callable

AddCommon = Callable[[argparse.ArgumentParser], None]
AddCommand = Callable[[str, str, Callable[..., int]], argparse.ArgumentParser]


def command_group(
    groups: argparse._SubParsersAction[argparse.ArgumentParser],
    common: AddCommon,
    epilog: str,
    *,
    name: str,
    help: str,
    description: str | None,
    client_class: type,
) -> AddCommand:
    """Adds the group; returns `command(name, help, run)`, which adds one of its commands."""
    group = groups.add_parser(
        name,
        help=help,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = group.add_subparsers(dest="command", required=True)

    def command(name: str, help: str, run: Callable[..., int]) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help, epilog=epilog)
        common(sub)
        sub.set_defaults(run=run, client_class=client_class)
        return sub

    return command
