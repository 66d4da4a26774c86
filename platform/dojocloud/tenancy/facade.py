"""Tenancy's public entry: the only module of tenancy that other apps import.

Services, the frozen Principal and the permission table (tenancy.permissions: actions,
roles, key scopes, the operator and console grants), the members and invitations services
(tenancy.members; tenancy.invitations as a module: invite, resolve, accept, revoke); the
model classes other apps read
(console's admin, the foreign keys' types) are re-exported as they are."""

from dojocloud.tenancy import invitations
from dojocloud.tenancy.accounts import record_password_reset, record_signed_up
from dojocloud.tenancy.actors import actor_for, key_label
from dojocloud.tenancy.demo import DemoSeed, seed_demo
from dojocloud.tenancy.invitations import InvitationUnusable
from dojocloud.tenancy.members import (
    SLUG_RULE,
    MemberRow,
    change_role,
    create_own_organization,
    leave,
    members_of,
    remove_member,
    transfer_ownership,
)
from dojocloud.tenancy.models import ApiKey, Invitation, Membership, Organization, Role, Scope
from dojocloud.tenancy.operators import OperatorSeed, seed_operators
from dojocloud.tenancy.permissions import (
    ADMIN_ROLES,
    DESCRIPTIONS,
    OPERATOR_ACTIONS,
    SCOPES,
    TABLE,
    WRITE_ROLES,
    Action,
    Principal,
    allows,
    console_allows,
    operator_org,
    require,
    require_console,
)
from dojocloud.tenancy.services import (
    KeyRow,
    add_member,
    api_keys_for,
    authenticate_api_key,
    create_api_key,
    create_organization,
    organizations_for_user,
    principal_for_user,
    revoke_api_key,
    revoke_api_keys_as_operator,
)

__all__ = [
    "ADMIN_ROLES",
    "DESCRIPTIONS",
    "OPERATOR_ACTIONS",
    "SCOPES",
    "TABLE",
    "WRITE_ROLES",
    "Action",
    "ApiKey",
    "SLUG_RULE",
    "DemoSeed",
    "Invitation",
    "InvitationUnusable",
    "KeyRow",
    "MemberRow",
    "Membership",
    "OperatorSeed",
    "Organization",
    "Principal",
    "Role",
    "Scope",
    "actor_for",
    "add_member",
    "allows",
    "api_keys_for",
    "authenticate_api_key",
    "change_role",
    "console_allows",
    "create_api_key",
    "create_organization",
    "create_own_organization",
    "invitations",
    "leave",
    "members_of",
    "key_label",
    "operator_org",
    "organizations_for_user",
    "principal_for_user",
    "record_password_reset",
    "record_signed_up",
    "remove_member",
    "require",
    "require_console",
    "revoke_api_key",
    "revoke_api_keys_as_operator",
    "seed_demo",
    "seed_operators",
    "transfer_ownership",
]
