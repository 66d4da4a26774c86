"""The audited events: one name per kind of change, dotted `resource.verb`.

A name is stored as text, so adding one needs no migration; renaming one would orphan
old rows, so names are never renamed."""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    # Accounts and sessions (no organization: a user's own events).
    USER_SIGNED_UP = "user.signed_up"
    LOGIN_SUCCEEDED = "login.succeeded"
    LOGIN_FAILED = "login.failed"
    LOGOUT = "logout"
    PASSWORD_RESET = "password.reset"
    # Organizations and their members.
    ORG_CREATED = "organization.created"
    MEMBER_ADDED = "member.added"
    MEMBER_REMOVED = "member.removed"
    MEMBER_LEFT = "member.left"
    MEMBER_ROLE_CHANGED = "member.role_changed"
    OWNERSHIP_TRANSFERRED = "ownership.transferred"
    INVITATION_CREATED = "invitation.created"
    INVITATION_ACCEPTED = "invitation.accepted"
    INVITATION_REVOKED = "invitation.revoked"
    # API keys (prefixes only: the secret is never known after creation).
    KEY_CREATED = "key.created"
    KEY_REVOKED = "key.revoked"
    # Operators' actions on the fleet and on tenants.
    QUOTA_SET = "quota.set"
    DEVICE_DRAINED = "device.drained"
    DEVICE_UNDRAINED = "device.undrained"
    DEVICE_MARKED_FAILED = "device.marked_failed"
    JOB_PREEMPTED = "job.preempted"
    JOB_REQUEUED = "job.requeued"
    JOB_CANCELLED_BY_OPERATOR = "job.cancelled_by_operator"
    # Billing: the price book and invoices (operators).
    PRICE_CHANGED = "price.changed"
    INVOICE_ADJUSTED = "invoice.adjusted"
    BUDGET_SET = "budget.set"  # an organization's monthly budget (its owners and admins)
    # Uploaded datasets (an upload is recorded once, when it became a dataset).
    DATASET_CREATED = "dataset.created"
    DATASET_DELETED = "dataset.deleted"
    # Uploaded ONNX models, the same way.
    MODEL_CREATED = "model.created"
    MODEL_DELETED = "model.deleted"
    # Webhook endpoints (the secret is never recorded; its hint is).
    WEBHOOK_CREATED = "webhook.created"
    WEBHOOK_DELETED = "webhook.deleted"
    WEBHOOK_TESTED = "webhook.tested"
