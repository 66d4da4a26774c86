"""Tenancy's public entry: the only module of tenancy that other apps import.

Services, the frozen Principal and the permission table (tenancy.permissions: actions,
roles, key scopes, the operator and console grants); the model classes other apps read
(console's admin, the foreign keys' types) are re-exported as they are."""

from dojocloud.tenancy.actors import actor_for, key_label
from dojocloud.tenancy.demo import DemoSeed, seed_demo
from dojocloud.tenancy.models import ApiKey, Membership, Organization, Role, Scope
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
    "DemoSeed",
    "KeyRow",
    "Membership",
    "Organization",
    "Principal",
    "Role",
    "Scope",
    "actor_for",
    "add_member",
    "allows",
    "api_keys_for",
    "authenticate_api_key",
    "console_allows",
    "create_api_key",
    "create_organization",
    "key_label",
    "operator_org",
    "organizations_for_user",
    "principal_for_user",
    "require",
    "require_console",
    "revoke_api_key",
    "revoke_api_keys_as_operator",
    "seed_demo",
]
