"""The people of the permission-table tests, and what the table says each may do.

acme is the organization under test: alice owns it, adam administers it, mia is a member,
vera a viewer. olga owns the operators' organization (and is staff: the console's operator),
otto administers it, omar is a plain member there; bob owns globex, the non-member. Each
caller is one of them with one API-key scope (portal sessions act with full scope).

`expected_allowed` reads the table's data directly (TABLE, SCOPES, OPERATOR_ACTIONS), so the
generated tests compare each surface with the table, not with the function that enforces it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User

from dojocloud.tenancy.models import Organization, Role, Scope
from dojocloud.tenancy.permissions import OPERATOR_ACTIONS, SCOPES, TABLE, Action
from dojocloud.tenancy.services import (
    add_member,
    create_api_key,
    create_organization,
    principal_for_user,
)

ACME, OPERATORS, GLOBEX = "acme", "operators", "globex"


@dataclass(frozen=True)
class Caller:
    name: str
    username: str
    org: str
    role: str
    scope: str = Scope.FULL

    @property
    def in_acme(self) -> bool:
        return self.org == ACME


# (username, organization, role): who is who.
PEOPLE = [
    ("alice", ACME, Role.OWNER),
    ("adam", ACME, Role.ADMIN),
    ("mia", ACME, Role.MEMBER),
    ("vera", ACME, Role.VIEWER),
    ("olga", OPERATORS, Role.OWNER),
    ("otto", OPERATORS, Role.ADMIN),
    ("omar", OPERATORS, Role.MEMBER),
    ("bob", GLOBEX, Role.OWNER),
]
_ROLE = {username: (org, role) for username, org, role in PEOPLE}


def caller(name: str, username: str, scope: str = Scope.FULL) -> Caller:
    org, role = _ROLE[username]
    return Caller(name, username, org, role, scope)


# The roles of the brief, as portal sessions.
SESSIONS = [
    caller("owner", "alice"),
    caller("admin", "adam"),
    caller("member", "mia"),
    caller("viewer", "vera"),
    caller("operator", "olga"),
    caller("non-member", "bob"),
]
# The same roles as API keys, and every scope on some of them.
KEY_CALLERS = [
    *SESSIONS,
    caller("owner/submit", "alice", Scope.SUBMIT),
    caller("owner/read", "alice", Scope.READ),
    caller("member/read", "mia", Scope.READ),
    caller("viewer/submit", "vera", Scope.SUBMIT),
    caller("operator/submit", "olga", Scope.SUBMIT),
    caller("operator/read", "otto", Scope.READ),
    caller("operators' member", "omar"),
]


def expected_allowed(c: Caller, action: Action) -> bool:
    """What the table says: the role's actions, within the scope; operator actions only in
    the operators' organization."""
    if action in OPERATOR_ACTIONS and c.org != OPERATORS:
        return False
    return c.role in TABLE[action] and action in SCOPES[c.scope]


@dataclass
class World:
    users: dict[str, User]
    orgs: dict[str, Organization]

    def key(self, c: Caller, name: str = "") -> str:
        """A fresh API key of the caller's, with the caller's scope."""
        principal = principal_for_user(self.users[c.username], c.org)
        return create_api_key(principal, name=name or c.name, scope=c.scope)[1]


def make_world() -> World:
    # olga is also the console's operator: staff (and superuser, as `make up`'s admin is).
    users = {
        u: User.objects.create_user(u, is_staff=(u == "olga"), is_superuser=(u == "olga"))
        for u, _, _ in PEOPLE
    }
    orgs: dict[str, Organization] = {}
    for username, org, role in PEOPLE:
        if org not in orgs:
            orgs[org] = create_organization(org, org.title(), users[username])
        else:
            add_member(orgs[org], users[username], role)
    return World(users, orgs)
