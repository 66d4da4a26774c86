"""Tenancy's public entry: the only module of tenancy that other apps import.

Services and the frozen Principal; the model classes other apps read (console's admin, the
foreign keys' types) are re-exported as they are."""

from dojocloud.tenancy.demo import DemoSeed, seed_demo
from dojocloud.tenancy.models import ApiKey, Membership, Organization, Role
from dojocloud.tenancy.services import (
    ADMIN_ROLES,
    WRITE_ROLES,
    Principal,
    add_member,
    api_keys_for,
    authenticate_api_key,
    create_api_key,
    create_organization,
    organizations_for_user,
    principal_for_user,
    require_admin,
    require_write,
    revoke_api_key,
    revoke_api_keys_as_operator,
)

__all__ = [
    "ADMIN_ROLES", "WRITE_ROLES", "ApiKey", "DemoSeed", "Membership", "Organization",
    "Principal", "Role", "add_member", "api_keys_for", "authenticate_api_key",
    "create_api_key", "create_organization", "organizations_for_user", "principal_for_user",
    "require_admin", "require_write", "revoke_api_key", "revoke_api_keys_as_operator", "seed_demo",
]
