"""Who uses a dataset, asked before it is deleted. Datasets sit below jobs, so jobs
registers its check here (jobs' AppConfig.ready) instead of datasets importing jobs."""

from __future__ import annotations

from collections.abc import Callable

# (organization id, dataset resource name) -> names of the non-final jobs that use it
UsersCheck = Callable[[int, str], list[str]]
_checks: dict[str, UsersCheck] = {}
REQUIRED = ("jobs",)


class MissingCheck(RuntimeError):
    pass


def register_users_check(app: str, check: UsersCheck) -> None:
    _checks[app] = check  # ready() may run twice (tests): replace, not add


def users_of(organization_id: int, name: str) -> list[str]:
    missing = [app for app in REQUIRED if app not in _checks]
    if missing:  # deleting without asking would orphan running jobs' data
        raise MissingCheck(f"no dataset users check from {', '.join(missing)}")
    return [user for app in REQUIRED for user in _checks[app](organization_id, name)]
