"""Django admin as the operator console. Jobs, events, allocations and the usage ledger are
read-only here: they change only through the services, so the lifecycle, ledger and
placement guarantees hold. API keys show their prefix, never their hash."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from dojocloud.billing.facade import UsageRecord
from dojocloud.console.actions import audit_actor
from dojocloud.jobs.facade import Checkpoint, Job, JobEvent
from dojocloud.scheduling.facade import (
    Allocation,
    Device,
    Preemption,
    TenantQuota,
    TenantUsage,
)
from dojocloud.tenancy import facade as tenancy
from dojocloud.tenancy.facade import ApiKey, Membership, Organization

admin.site.site_header = "Dojo Cloud operator console"
_admin_context = admin.site.each_context


def _each_context(request: HttpRequest) -> dict[str, Any]:
    """Every admin page's header links to the fleet console (/console/), which links back."""
    context = _admin_context(request)
    context["site_header"] = format_html(
        '{} <a class="console-link" href="{}">Fleet console &rarr;</a>',
        admin.site.site_header,
        reverse("console:overview"),
    )
    return context


admin.site.each_context = _each_context  # type: ignore[method-assign]
admin.site.site_title = "Dojo Cloud console"
admin.site.index_title = "Fleet, tenants and jobs"
# The admin site's gate is tenancy's console grant, the same one /console/ checks.
admin.site.has_permission = (  # type: ignore[method-assign]
    lambda request: tenancy.console_allows(request.user)
)


class ReadOnlyMixin:
    """Rows written only by services: viewable, never added, edited or deleted here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class JobEventInline(ReadOnlyMixin, admin.TabularInline):
    model = JobEvent
    fields = ("id", "time", "kind", "data")
    readonly_fields = fields
    extra = 0
    ordering = ("id",)


class AllocationInline(ReadOnlyMixin, admin.TabularInline):
    model = Allocation
    fields = ("device", "attempt", "created_at", "released_at")
    readonly_fields = fields
    extra = 0


@admin.register(Job)
class JobAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "name",
        "organization",
        "state",
        "pool",
        "accelerator",
        "progress",
        "queue_position",
        "created_at",
    )
    list_filter = ("state", "organization", "pool", "accelerator")
    search_fields = ("id", "name", "organization__slug", "creator_label")
    date_hierarchy = "created_at"
    list_select_related = ("organization",)
    inlines = (AllocationInline, JobEventInline)
    # The dispatch token is a worker credential for a segment: never shown.
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "id",
                    "name",
                    "organization",
                    "creator",
                    "creator_label",
                    "request_id",
                    "created_at",
                )
            },
        ),
        (
            "State",
            {
                "fields": (
                    "state",
                    "state_reason",
                    "pending_reason",
                    "queue_position",
                    "priority",
                    "attempt",
                    "segment",
                    "current_step",
                    "total_steps",
                    "started_at",
                    "ended_at",
                    "max_runtime_seconds",
                )
            },
        ),
        (
            "Placement",
            {
                "fields": (
                    "pool",
                    "accelerator",
                    "devices",
                    "lease_owner",
                    "dispatched_at",
                    "heartbeat_at",
                    "last_checkpoint_at",
                    "preempt_requested",
                    "preempt_reason",
                )
            },
        ),
        (
            "Usage",
            {
                "fields": (
                    "allocated_seconds",
                    "device_seconds",
                    "wall_seconds",
                    "samples_trained",
                    "latest_metrics",
                )
            },
        ),
        (
            "Spec",
            {
                "fields": ("accepted_accelerators", "device_count", "spec", "uid"),
                "classes": ("collapse",),
            },
        ),
    )

    @admin.display(description="steps")
    def progress(self, job: Job) -> str:
        return f"{job.current_step}/{job.total_steps}"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Job._meta.fields if f.name != "dispatch_token"]


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "job",
        "organization",
        "attempt",
        "segment",
        "pool",
        "device_count",
        "allocated_seconds",
        "device_seconds",
        "wall_seconds",
        "recorded_at",
    )
    list_filter = ("organization", "pool", "accelerator")
    search_fields = ("job__id", "organization__slug")
    date_hierarchy = "recorded_at"
    list_select_related = ("organization", "job")


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("user",)
    extra = 0


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "created_at")
    search_fields = ("slug", "name")
    inlines = (MembershipInline,)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "role", "created_at")
    list_filter = ("role", "organization")
    search_fields = ("user__username", "organization__slug")
    autocomplete_fields = ("user", "organization")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created in the portal, where the raw key is shown once; here they can only be
    looked at (prefix, never hash) and revoked. A key acts with its creator's current role
    in the organization (see the memberships), narrowed to its scope."""

    fields = (
        "name",
        "organization",
        "shown_prefix",
        "scope",
        "created_by",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    list_display = readonly_fields = fields  # the list shows every field; none is editable
    list_filter = ("organization", "scope")
    search_fields = ("name", "prefix", "organization__slug")
    actions = ("revoke",)

    @admin.display(description="key")
    def shown_prefix(self, key: ApiKey) -> str:
        return f"dojo_{key.prefix}_…"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        # The tenancy service owns the rule (who may revoke, what is recorded).
        count = tenancy.revoke_api_keys_as_operator(
            request.user, queryset.values_list("id", flat=True), actor=audit_actor(request)
        )
        self.message_user(request, f"Revoked {count} key(s).", messages.SUCCESS)


@admin.register(Device)
class DeviceAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "kind", "pool", "accelerator", "status", "in_inventory")
    list_filter = ("kind", "pool", "status", "in_inventory")
    search_fields = ("id", "node")
    inlines = (AllocationInline,)


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("device", "job", "attempt", "created_at", "released_at")
    list_filter = ("device__pool", ("released_at", admin.EmptyFieldListFilter))
    search_fields = ("job__id", "device__id")
    list_select_related = ("device", "job")


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("job", "step", "attempt", "segment", "size_bytes", "created_at")
    search_fields = ("job__id",)
    list_select_related = ("job",)


# Quotas change through the console's quota form (dojocloud.scheduling.quotas.set_quota),
# which validates the pool, records who and why, and wakes the scheduler.
@admin.register(TenantQuota)
class TenantQuotaAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "organization",
        "pool",
        "nominal",
        "borrowing_limit",
        "lending_limit",
        "cohort",
        "weight",
        "updated_by",
        "updated_at",
    )
    list_filter = ("pool", "cohort")
    search_fields = ("organization__slug",)
    list_select_related = ("organization",)


@admin.register(TenantUsage)
class TenantUsageAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("organization", "decayed_usage", "updated_at")
    list_select_related = ("organization",)


@admin.register(Preemption)
class PreemptionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("job", "attempt", "kind", "for_job_id", "requested_by", "reason", "created_at")
    list_filter = ("kind",)
    search_fields = ("job__id", "for_job_id", "requested_by")
    list_select_related = ("job",)
