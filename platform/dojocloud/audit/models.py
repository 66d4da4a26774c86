"""The audit trail: append-only rows, one per change of who may do what, or of the fleet.

Append-only is held here, not by convention: a saved row cannot be saved again, and rows
cannot be deleted through the ORM (single or bulk). The organization is kept as its slug
beside the foreign key, so a row still reads after the organization is gone."""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from django.conf import settings
from django.db import models


class AppendOnlyError(RuntimeError):
    pass


class AuditQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit events are append-only")

    def delete(self) -> NoReturn:  # type: ignore[override]
        raise AppendOnlyError("audit events are append-only")


class AuditEvent(models.Model):
    at = models.DateTimeField(db_index=True)
    organization = models.ForeignKey(
        "tenancy.Organization",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    org_slug = models.CharField(max_length=63, blank=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who, as shown: a username, "key dojo_ab12cd34" (a key's prefix), or "system".
    actor = models.CharField(max_length=200)
    source = models.CharField(max_length=200, blank=True)  # IP address or gRPC peer
    action = models.CharField(max_length=64, db_index=True)
    target = models.CharField(max_length=300, blank=True)  # a resource name or username
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    objects: ClassVar[AuditQuerySet] = AuditQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["organization", "-at", "-id"], name="audit_org_time")]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit events are append-only")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.target}"
