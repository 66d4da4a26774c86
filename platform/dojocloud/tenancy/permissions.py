"""Who may do what: the one permission table (action × role), the API-key scopes that narrow
it, the operator grant and the console grant. Every surface asks here: the gRPC servicers
(dojocloud.api.auth), the portal views (portal.views.common), the console, and the services
themselves (a second check behind the adapters costs nothing and guards new callers).

Decided at each call from current state: a Principal carries the role read from the
membership during that call (the portal's request, or an API key's creator's membership in
the key's organization), never one copied earlier. Nothing here is cached.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User

from dojocloud.common.errors import PermissionDenied
from dojocloud.tenancy.models import Organization, Role, Scope


class Action(StrEnum):
    JOBS_READ = "jobs.read"  # list, get, watch, events, logs
    JOBS_SUBMIT = "jobs.submit"
    JOBS_CANCEL = "jobs.cancel"
    JOBS_ESTIMATE = "jobs.estimate"  # modelled time and cost: free, read-only
    KEYS_READ = "keys.read"  # the organization's keys (prefixes, never secrets)
    KEYS_CREATE = "keys.create"  # a key of one's own (portal sessions only)
    KEYS_REVOKE_OWN = "keys.revoke_own"
    KEYS_REVOKE_OTHERS = "keys.revoke_others"  # another member's key (not an owner's)
    KEYS_REVOKE_OWNERS = "keys.revoke_owners"  # a key created by a current owner
    MEMBERS_READ = "members.read"
    MEMBERS_MANAGE = "members.manage"  # invite, remove, change roles (not an owner's)
    MEMBERS_MANAGE_OWNERS = "members.manage_owners"  # make, demote, remove or invite owners
    MEMBERS_LEAVE = "members.leave"  # leave the organization oneself
    USAGE_READ = "usage.read"  # the organization's usage and bill
    AUDIT_READ = "audit.read"  # the organization's audit log (operators: every one's)
    DATASETS_READ = "datasets.read"  # list, get, upload status
    DATASETS_WRITE = "datasets.write"  # upload, delete
    MODELS_READ = "models.read"  # ONNX models: list, get, upload status
    MODELS_WRITE = "models.write"  # upload, delete
    PRICES_READ = "prices.read"  # the price book (the same figures every estimate shows)
    OPERATOR_READ = "operator.read"  # capacity, queue, quotas of every tenant
    OPERATOR_ACT = "operator.act"  # drain, mark failed, quotas, preempt, requeue
    BILLING_ACT = "billing.act"  # set prices, credit or adjust a tenant's draft invoice
    ARTIFACTS_READ = "artifacts.read"  # list and download a job's artifacts
    WEBHOOKS_READ = "webhooks.read"  # the organization's endpoints and their deliveries
    WEBHOOKS_MANAGE = "webhooks.manage"  # add and delete endpoints, send a test event
    BUDGET_SET = "budget.set"  # the organization's monthly budget, alerts and hard cap


DESCRIPTIONS: Mapping[Action, str] = {
    Action.JOBS_READ: "read jobs",
    Action.JOBS_SUBMIT: "submit jobs",
    Action.JOBS_CANCEL: "cancel jobs",
    Action.JOBS_ESTIMATE: "estimate jobs",
    Action.KEYS_READ: "list API keys",
    Action.KEYS_CREATE: "create API keys",
    Action.KEYS_REVOKE_OWN: "revoke their own API keys",
    Action.KEYS_REVOKE_OTHERS: "revoke other members' API keys",
    Action.KEYS_REVOKE_OWNERS: "revoke an owner's API keys",
    Action.MEMBERS_READ: "list members",
    Action.MEMBERS_MANAGE: "manage members",
    Action.MEMBERS_MANAGE_OWNERS: "make, demote or remove owners",
    Action.MEMBERS_LEAVE: "leave the organization",
    Action.USAGE_READ: "read the organization's usage",
    Action.AUDIT_READ: "read the organization's audit log",
    Action.DATASETS_READ: "read datasets",
    Action.DATASETS_WRITE: "upload and delete datasets",
    Action.MODELS_READ: "read models",
    Action.MODELS_WRITE: "upload and delete models",
    Action.PRICES_READ: "read the price book",
    Action.OPERATOR_READ: "read the fleet",
    Action.OPERATOR_ACT: "act on the fleet",
    Action.BILLING_ACT: "set prices or adjust invoices",
    Action.ARTIFACTS_READ: "list and download job artifacts",
    Action.WEBHOOKS_READ: "read webhooks",
    Action.WEBHOOKS_MANAGE: "manage webhooks",
    Action.BUDGET_SET: "set the monthly budget",
}

_ALL = frozenset(Role)
_WRITERS = frozenset({Role.OWNER, Role.ADMIN, Role.MEMBER})
_ADMINS = frozenset({Role.OWNER, Role.ADMIN})
_OWNERS = frozenset({Role.OWNER})

# THE table: which roles of an organization may take each action in it.
TABLE: Mapping[Action, frozenset[Role]] = {
    Action.JOBS_READ: _ALL,
    Action.JOBS_SUBMIT: _WRITERS,
    Action.JOBS_CANCEL: _WRITERS,
    Action.JOBS_ESTIMATE: _ALL,
    Action.KEYS_READ: _ALL,
    Action.KEYS_CREATE: _ALL,  # a viewer's key reads only: it acts as its creator
    Action.KEYS_REVOKE_OWN: _ALL,
    Action.KEYS_REVOKE_OTHERS: _ADMINS,
    Action.KEYS_REVOKE_OWNERS: _OWNERS,
    Action.MEMBERS_READ: _ALL,
    Action.MEMBERS_MANAGE: _ADMINS,
    Action.MEMBERS_MANAGE_OWNERS: _OWNERS,  # transferring ownership too
    Action.MEMBERS_LEAVE: _ALL,  # the last owner cannot (tenancy.members says why)
    Action.USAGE_READ: _ADMINS,
    Action.AUDIT_READ: _ADMINS,
    Action.DATASETS_READ: _ALL,
    Action.DATASETS_WRITE: _WRITERS,
    Action.MODELS_READ: _ALL,
    Action.MODELS_WRITE: _WRITERS,
    Action.PRICES_READ: _ALL,
    # The operator grant: these two only in settings.OPERATOR_ORG (DOJO_OPERATOR_ORG).
    Action.OPERATOR_READ: _ADMINS,
    Action.OPERATOR_ACT: _ADMINS,
    Action.BILLING_ACT: _ADMINS,
    Action.ARTIFACTS_READ: _ALL,
    Action.WEBHOOKS_READ: _ADMINS,  # deliveries show what the receivers answered
    Action.WEBHOOKS_MANAGE: _ADMINS,
    Action.BUDGET_SET: _ADMINS,
}
OPERATOR_ACTIONS = frozenset({Action.OPERATOR_READ, Action.OPERATOR_ACT, Action.BILLING_ACT})

_READS = frozenset(
    {
        Action.JOBS_READ,
        Action.JOBS_ESTIMATE,
        Action.KEYS_READ,
        Action.MEMBERS_READ,
        Action.USAGE_READ,
        Action.AUDIT_READ,
        Action.DATASETS_READ,
        Action.MODELS_READ,
        Action.PRICES_READ,
        Action.OPERATOR_READ,
        Action.ARTIFACTS_READ,
        Action.WEBHOOKS_READ,
    }
)
# What a key's scope allows at most; a key acts with table[role] ∩ scope.
SCOPES: Mapping[str, frozenset[Action]] = {
    Scope.FULL: frozenset(Action),
    Scope.SUBMIT: _READS | {Action.JOBS_SUBMIT, Action.JOBS_CANCEL},
    Scope.READ: _READS,
}

WRITE_ROLES = TABLE[Action.JOBS_SUBMIT]
ADMIN_ROLES = TABLE[Action.MEMBERS_MANAGE]


def operator_org() -> str:
    return settings.OPERATOR_ORG


@dataclass(frozen=True)
class Principal:
    """Who is calling, for which organization, with the role their membership has now. For
    an API key, `user` is the key's creator and `scope` the key's; a portal session: full."""

    organization: Organization
    user: User | None
    api_key_id: int | None
    role: str
    scope: str = Scope.FULL

    def can(self, action: Action) -> bool:
        return allows(self, action)

    @property
    def can_write(self) -> bool:
        return allows(self, Action.JOBS_SUBMIT)

    @property
    def label(self) -> str:
        if self.api_key_id is not None:
            return f"key:{self.api_key_id}"
        return f"user:{self.user.get_username()}" if self.user is not None else "unknown"


def allows(principal: Principal, action: Action) -> bool:
    if action in OPERATOR_ACTIONS and principal.organization.slug != operator_org():
        return False
    return principal.role in TABLE[action] and action in SCOPES.get(principal.scope, frozenset())


def require(principal: Principal, action: Action) -> None:
    """PermissionDenied naming what is missing: the operator grant, the role or the scope."""
    if allows(principal, action):
        return
    org, what = principal.organization.slug, DESCRIPTIONS[action]
    role, scope = str(principal.role), str(principal.scope)  # plain text, not enum reprs
    if action in OPERATOR_ACTIONS and (org != operator_org() or role not in _ADMINS):
        raise PermissionDenied(
            f"the scheduler API is for operators: an owner or admin of the {operator_org()!r} "
            f"organization (this caller is {role} of {org!r})"
        )
    if role not in TABLE[action]:
        raise PermissionDenied(f"role {role!r} in {org!r} cannot {what}")
    raise PermissionDenied(f"an API key with scope {scope!r} cannot {what}")


def revoke_action(principal: Principal, creator_id: int | None, creator_role: str | None) -> Action:
    """Which action revoking a key is: one's own, an owner's (creator now an owner), or
    another member's (including keys whose creator has left)."""
    if principal.user is not None and creator_id == principal.user.id:
        return Action.KEYS_REVOKE_OWN
    if creator_role == Role.OWNER:
        return Action.KEYS_REVOKE_OWNERS
    return Action.KEYS_REVOKE_OTHERS


def console_allows(user: User | AnonymousUser) -> bool:
    """The console grant (/admin/ and /console/): an active staff user, Django's own rule
    for its admin site, read from the database on every request as Django does."""
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def require_console(user: User | AnonymousUser) -> None:
    if not console_allows(user):
        raise PermissionDenied("only operators (staff) can use the console")
