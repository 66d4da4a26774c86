"""The permission table, generated over the web: every URL of the portal and the console
(taken from the URLconfs, so a new URL fails here until it has a recipe), plus the Django
admin's index and every registered model's list, requested by every role as a logged-in
user (owner, admin, member, viewer of acme; the operator; a non-member) and anonymously.

The expected answer follows from the table (tests/support/roles.py): the view's declared
action allowed → the page (or its redirect); denied → 403; acme's object asked for by another
tenant → 404; the console and admin → operators (the console grant) only, others to the
admin login. Where a request changes something, it changed exactly when it was allowed.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from allauth.account.models import EmailAddress
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, resolve
from django.utils import timezone

from dojo.specfile import parse_yaml
from dojocloud.artifacts.facade import record_artifact
from dojocloud.audit.models import AuditEvent
from dojocloud.billing.models import InvoiceLine, PriceEntry
from dojocloud.billing.services import record_segment_usage
from dojocloud.common.inventory import inventory
from dojocloud.console import urls as console_urls
from dojocloud.datasets import facade as datasets
from dojocloud.datasets.models import Dataset, DatasetUpload, OnnxModel
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Job
from dojocloud.jobs.ports import Outcome, SegmentEnded, SegmentRun
from dojocloud.portal import urls as portal_urls
from dojocloud.portal.views.keys import _NEW_KEY_SESSION
from dojocloud.scheduling import capacity
from dojocloud.scheduling.models import Device
from dojocloud.tenancy import invitations
from dojocloud.tenancy.models import ApiKey, Invitation, Membership, Organization
from dojocloud.tenancy.permissions import Action
from dojocloud.tenancy.services import add_member, create_api_key, principal_for_user
from dojocloud.webhooks import facade as webhooks
from dojocloud.webhooks.models import Delivery, Endpoint
from tests.support.onnx_models import tiny_onnx
from tests.support.roles import SESSIONS, Caller, World, expected_allowed, make_world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_request_limits")]

TILE = "dojo/e0/c0/t0/r0c0"
OPERATOR = "olga"  # staff: the console grant
SPEC = """
name: perm
model: {architecture: mlp, params: {hidden: 8, layers: 1}}
dataset: {name: digits}
training: {steps: 6, batch_size: 8, optimizer: adam, learning_rate: 0.01, precision: fp32,
           checkpoint_interval: 2, seed: 1}
resources: {accelerators: [dojo-tile], count: 1}
"""
FORM = {
    "mode": "form",
    "name": "perm-job",
    "priority_class": "normal",
    "architecture": "mlp",
    "param_mlp_hidden": "8",
    "param_mlp_layers": "1",
    "dataset": "digits",
    "steps": "6",
    "batch_size": "8",
    "optimizer": "adam",
    "learning_rate": "0.01",
    "precision": "fp32",
    "checkpoint_interval": "2",
    "seed": "1",
    "accelerators": ["dojo-tile"],
    "count": "1",
    "max_runtime_seconds": "600",
}


@pytest.fixture(autouse=True)
def _storage(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.STORAGE_URL = (tmp_path / "storage").as_uri()
    settings.CACHE_DIR = tmp_path / "cache"


@dataclass
class Prepared:
    method: str
    path: str
    data: dict[str, object] = field(default_factory=dict)
    changed: Callable[[], bool] | None = None  # did the request take effect?
    action: Action | None = None  # instead of the view's (revoking: by whose key)
    ok: str = ""  # the answer when allowed, where it is not the usual 200 (GET) or 302 (POST)


@dataclass(frozen=True)
class Recipe:
    prepare: Callable[[World, Caller], Prepared]
    kind: str = "portal"  # portal | public | console | signed-in (any account, no org needed)
    acme_object: bool = False  # names acme's object: 404 for another tenant (switch-org: 403)
    foreign: int = 404
    expect: Callable[[Caller | None], str] | None = None  # instead of the table's answer


def _job(world: World) -> Job:
    """A fresh job of acme's, submitted as the SDK would."""
    return jobs.create_job(principal_for_user(world.users["alice"], "acme"), parse_yaml(SPEC))


def _artifact_path(world: World) -> str:
    """The download URL of an artifact of a fresh job of acme's."""
    job = _job(world)
    record_artifact(job, "spec.json", b'{"name": "perm"}', "application/json")
    return f"/jobs/{job.id}/artifacts/spec.json"


def _key_of(world: World, username: str, org: str = "acme") -> ApiKey:
    return create_api_key(principal_for_user(world.users[username], org), name=username)[0]


def _revoke(whose: str) -> Callable[[World, Caller], Prepared]:
    """Revoking `whose` key: the caller's own (in their organization), or acme's mia (a
    member), adam (an admin) or alice (the owner)."""

    def prepare(world: World, c: Caller) -> Prepared:
        username, org = (c.username, c.org) if whose == "own" else (whose, "acme")
        key = _key_of(world, username, org)
        if username == c.username:
            action = Action.KEYS_REVOKE_OWN
        else:
            action = Action.KEYS_REVOKE_OWNERS if username == "alice" else Action.KEYS_REVOKE_OTHERS
        return Prepared(
            "post",
            f"/keys/{key.id}/revoke/",
            action=action,
            changed=lambda: ApiKey.objects.get(id=key.id).revoked_at is not None,
        )

    return prepare


def _new_job(world: World, c: Caller) -> Prepared:
    before = Job.objects.count()
    return Prepared("post", "/jobs/new/", FORM, lambda: Job.objects.count() > before)


def _cancel(world: World, c: Caller) -> Prepared:
    job = _job(world)
    return Prepared(
        "post",
        f"/jobs/{job.id}/cancel/",
        changed=lambda: Job.objects.get(id=job.id).state == "CANCELLED",
    )


def _set_budget(world: World, c: Caller) -> Prepared:
    before = AuditEvent.objects.filter(action="budget.set").count()
    return Prepared(
        "post",
        "/billing/budget/",
        {"monthly_usd": "250", "alert_percents": "50,80,100", "hard_cap": "on"},
        lambda: AuditEvent.objects.filter(action="budget.set").count() > before,
    )


def _new_key(world: World, c: Caller) -> Prepared:
    before = ApiKey.objects.count()
    return Prepared(
        "post",
        "/keys/",
        {"name": "new", "scope": "read", "expires_in": "30"},
        lambda: ApiKey.objects.count() > before,
    )


def _endpoint(world: World) -> Endpoint:
    """A fresh webhook endpoint of acme's, added by its owner."""
    principal = principal_for_user(world.users["alice"], "acme")
    return webhooks.create_endpoint(principal, "https://hooks.example.com/dojo").endpoint


def _add_endpoint(world: World, c: Caller) -> Prepared:
    before = Endpoint.objects.count()
    data = {"url": "https://hooks.example.com/new", "event_types": ["job.failed"]}
    return Prepared("post", "/webhooks/add/", data, lambda: Endpoint.objects.count() > before)


def _test_endpoint(world: World, c: Caller) -> Prepared:
    endpoint = _endpoint(world)
    return Prepared(
        "post",
        f"/webhooks/{endpoint.endpoint_id}/test/",
        changed=lambda: Delivery.objects.filter(endpoint=endpoint).exists(),
    )


def _delete_endpoint(world: World, c: Caller) -> Prepared:
    endpoint = _endpoint(world)
    return Prepared(
        "post",
        f"/webhooks/{endpoint.endpoint_id}/delete/",
        changed=lambda: not Endpoint.objects.filter(id=endpoint.id).exists(),
    )


def _drain(world: World, c: Caller) -> Prepared:
    Device.objects.filter(id=TILE).update(status="free")
    return Prepared(
        "post",
        "/console/actions/device",
        {"target": TILE, "action": "drain"},
        lambda: Device.objects.get(id=TILE).status != "free",
    )


def _requeue(world: World, c: Caller) -> Prepared:
    return Prepared("post", "/console/actions/job", {"job_id": _job(world).id, "action": "requeue"})


def _quota(world: World, c: Caller) -> Prepared:
    return Prepared(
        "post", "/console/actions/quota", {"tenant": "acme", "pool": "dojo", "nominal": "1"}
    )


def _membership(world: World, username: str) -> Membership:
    return Membership.objects.get(organization__slug="acme", user=world.users[username])


def _role(whose: str, role: str) -> Callable[[World, Caller], Prepared]:
    """Changing acme's `whose` to `role`: touching an owner is for owners only. acme gets a
    second owner first, so the last-owner rule never decides the answer here."""

    def prepare(world: World, c: Caller) -> Prepared:
        if whose == "alice":
            add_member(world.orgs["acme"], world.users["mia"], "member")  # reset
        target = _membership(world, whose)
        target.role = "owner" if whose == "alice" else "member"
        target.save()
        add_member(world.orgs["acme"], world.users["olga"], "owner")  # a second owner
        owner_touched = whose == "alice" or role == "owner"
        return Prepared(
            "post",
            f"/members/{target.id}/role/",
            {"role": role},
            changed=lambda: Membership.objects.get(id=target.id).role == role,
            action=Action.MEMBERS_MANAGE_OWNERS if owner_touched else None,
        )

    return prepare


def _remove(world: World, c: Caller) -> Prepared:
    dan = world.users.get("dan") or User.objects.create_user("dan")
    world.users["dan"] = dan
    add_member(world.orgs["acme"], dan, "member")
    return Prepared(
        "post",
        f"/members/{_membership(world, 'dan').id}/remove/",
        changed=lambda: not Membership.objects.filter(user=dan, organization__slug="acme").exists(),
    )


def _transfer(world: World, c: Caller) -> Prepared:
    add_member(world.orgs["acme"], world.users["mia"], "member")
    target = _membership(world, "mia")
    return Prepared(
        "post",
        f"/members/{target.id}/transfer/",
        changed=lambda: Membership.objects.get(id=target.id).role == "owner",
    )


def _leave(world: World, c: Caller) -> Prepared:
    # A second owner of acme, so that alice may leave too (olga and bob are the last owners
    # of theirs: refused).
    zoe = User.objects.get_or_create(username="zoe")[0]
    add_member(world.orgs["acme"], zoe, "owner")
    org = world.orgs.get(c.org)
    before = Membership.objects.filter(organization=org, user=world.users[c.username]).exists()
    return Prepared(
        "post",
        "/members/leave/",
        changed=lambda: (
            before
            and not Membership.objects.filter(
                organization=org, user=world.users[c.username]
            ).exists()
        ),
    )


def _invite(world: World, c: Caller) -> Prepared:
    before = Invitation.objects.count()
    return Prepared(
        "post",
        "/members/invite/",
        {"email": f"new-{before}@example.com", "role": "member"},
        changed=lambda: Invitation.objects.count() > before,
    )


def _invitation(world: World, role: str = "member") -> Invitation:
    return Invitation.objects.create(
        organization=world.orgs["acme"],
        email=f"inv-{Invitation.objects.count()}@example.com",
        role=role,
        invited_by=world.users["alice"],
        expires_at=timezone.now() + timedelta(days=1),
    )


def _revoke_invitation(world: World, c: Caller) -> Prepared:
    inv = _invitation(world)
    return Prepared(
        "post",
        f"/members/invitations/{inv.id}/revoke/",
        changed=lambda: Invitation.objects.get(id=inv.id).revoked_at is not None,
    )


def _accept(world: World, c: Caller) -> Prepared:
    """An invitation to the caller's own verified address."""
    inv = _invitation(world)
    Invitation.objects.filter(id=inv.id).update(email=f"{c.username}@example.com")
    EmailAddress.objects.get_or_create(
        user=world.users[c.username],
        email=f"{c.username}@example.com",
        defaults={"verified": True, "primary": True},
    )
    inv.refresh_from_db()
    return Prepared(
        "post",
        f"/invitations/{invitations.token_for(inv)}/",
        changed=lambda: Invitation.objects.get(id=inv.id).accepted_at is not None,
    )


def _accept_expected(c: Caller | None) -> str:
    if c is None:
        return "302 login"
    return "409" if c.in_acme else "302"  # a member of acme already: refused, left unused


def _leave_expected(c: Caller | None) -> str:
    if c is None:
        return "302 login"
    return "409" if c.username in ("olga", "bob") else "302"  # the last owner cannot leave


def _new_org(world: World, c: Caller) -> Prepared:
    before = Organization.objects.count()
    return Prepared(
        "post",
        "/orgs/new/",
        {"name": "New", "slug": f"new-{c.username}-{before}"},
        changed=lambda: Organization.objects.count() > before,
    )


def _usage_month(world: World) -> str:
    """This month, with a rated ledger row in every organization (each has its invoice)."""
    now = timezone.now()
    for slug, owner in (("acme", "alice"), ("operators", "olga"), ("globex", "bob")):
        job = jobs.create_job(principal_for_user(world.users[owner], slug), parse_yaml(SPEC))
        run = SegmentRun(0, 1, 8, 2.0, 0.5, now, now)
        record_segment_usage(
            SegmentEnded(job.id, "w", 1, 0, "dojo", "dojo-tile", 1, Outcome.NEXT_SEGMENT, "", run),
            run,
        )
    return f"{now:%Y-%m}"


def _price(world: World, c: Caller) -> Prepared:
    before = PriceEntry.objects.count()
    data = {"pool": "gpu-a100", "on_demand": "0.0012", "preemptible": "0.0004"}
    data.update({"hardware": "emulated", "reason": "t"})
    return Prepared(
        "post", "/console/billing/price", data, lambda: PriceEntry.objects.count() > before
    )


def _adjust(world: World, c: Caller) -> Prepared:
    month = _usage_month(world)
    data = {"organization": "acme", "month": month, "amount": "-1.00", "reason": "t"}
    before = InvoiceLine.objects.filter(kind="credit").count()
    return Prepared(
        "post",
        "/console/billing/adjust",
        data,
        lambda: InvoiceLine.objects.filter(kind="credit").count() > before,
    )


def _npz() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, x=np.zeros((4, 3), np.float32), y=np.arange(4, dtype=np.int64) % 2)
    return buffer.getvalue()


def _dataset(world: World) -> Dataset:
    """A fresh dataset of acme's, uploaded by its owner."""
    payload = _npz()
    n = Dataset.objects.count()
    request = datasets.UploadRequest(
        f"d{n}", datasets.NPZ, len(payload), hashlib.sha256(payload).hexdigest(), f"u{n}"
    )
    return datasets.upload(principal_for_user(world.users["alice"], "acme"), request, [payload])


def _image_dataset(world: World) -> Dataset:
    """A fresh image dataset of acme's (x [N, 1, H, W]): its page has sample images."""
    buffer = io.BytesIO()
    np.savez(buffer, x=np.zeros((4, 1, 4, 4), np.float32), y=np.arange(4, dtype=np.int64) % 2)
    payload = buffer.getvalue()
    n = Dataset.objects.count()
    request = datasets.UploadRequest(
        f"i{n}", datasets.NPZ, len(payload), hashlib.sha256(payload).hexdigest(), f"iu{n}"
    )
    return datasets.upload(principal_for_user(world.users["alice"], "acme"), request, [payload])


def _upload(world: World, c: Caller) -> Prepared:
    before = Dataset.objects.count()
    data = {"file": SimpleUploadedFile("d.npz", _npz()), "dataset_id": f"up{before}"}
    data["format"] = "npz"
    return Prepared("post", "/datasets/upload/", data, lambda: Dataset.objects.count() > before)


def _delete_dataset(world: World, c: Caller) -> Prepared:
    dataset = _dataset(world)
    return Prepared(
        "post",
        f"/datasets/{dataset.dataset_id}/delete/",
        changed=lambda: not Dataset.objects.filter(uid=dataset.uid).exists(),
    )


def _model(world: World) -> OnnxModel:
    """A fresh model of acme's, uploaded by its owner."""
    payload = tiny_onnx()
    n = OnnxModel.objects.count()
    request = datasets.UploadRequest(
        f"m{n}", datasets.ONNX, len(payload), hashlib.sha256(payload).hexdigest(), f"mu{n}"
    )
    return datasets.upload_model(
        principal_for_user(world.users["alice"], "acme"), request, [payload]
    )


def _upload_model(world: World, c: Caller) -> Prepared:
    before = OnnxModel.objects.count()
    data = {"file": SimpleUploadedFile("m.onnx", tiny_onnx()), "model_id": f"mup{before}"}
    return Prepared("post", "/models/upload/", data, lambda: OnnxModel.objects.count() > before)


def _chunk(kind: str) -> Callable[[World, Caller], Prepared]:
    """The first chunk (the test client's empty form as the body) of a larger upload: the
    upload takes it (200, bytes committed) and goes on waiting for the rest."""

    def prepare(world: World, c: Caller) -> Prepared:
        upload_id = f"chunk{DatasetUpload.objects.count()}-{c.username}"
        query = f"upload_id={upload_id}&offset=0&id={upload_id}&format=npz&size=100000"
        return Prepared(
            "post",
            f"/{kind}/upload/chunk/?{query}&sha256={'0' * 64}",
            changed=lambda: DatasetUpload.objects.filter(
                upload_id=upload_id, committed__gt=0
            ).exists(),
            action=Action.DATASETS_WRITE if kind == "datasets" else Action.MODELS_WRITE,
            ok="200",
        )

    return prepare


def _upload_status(kind: str) -> Callable[[World, Caller], Prepared]:
    def prepare(world: World, c: Caller) -> Prepared:
        action = Action.DATASETS_WRITE if kind == "datasets" else Action.MODELS_WRITE
        path = f"/{kind}/upload/status/?upload_id=none"
        return Prepared("get", path, action=action, ok="404")  # no such upload

    return prepare


def _delete_model(world: World, c: Caller) -> Prepared:
    model = _model(world)
    return Prepared(
        "post",
        f"/models/{model.model_id}/delete/",
        changed=lambda: not OnnxModel.objects.filter(uid=model.uid).exists(),
    )


def _get(path: str | Callable[[World], str]) -> Callable[[World, Caller], Prepared]:
    return lambda w, c: Prepared("get", path if isinstance(path, str) else path(w))


# One or more recipes per URL name; "name#variant" for several requests to one URL.
RECIPES: dict[str, Recipe] = {
    "portal:home": Recipe(_get("/"), kind="public"),
    "portal:login": Recipe(_get("/login/"), kind="public"),
    "portal:logout": Recipe(lambda w, c: Prepared("post", "/logout/"), kind="public"),
    "portal:job-list": Recipe(_get("/jobs/")),
    "portal:job-new": Recipe(_get("/jobs/new/")),
    "portal:job-new#post": Recipe(_new_job),
    "portal:job-estimate": Recipe(lambda w, c: Prepared("post", "/jobs/estimate/", FORM)),
    "portal:job-detail": Recipe(_get(lambda w: f"/jobs/{_job(w).id}/"), acme_object=True),
    "portal:job-events": Recipe(
        _get(lambda w: f"/jobs/{_job(w).id}/events.json"), acme_object=True
    ),
    "portal:job-log": Recipe(_get(lambda w: f"/jobs/{_job(w).id}/log.json"), acme_object=True),
    "portal:job-cancel": Recipe(_cancel, acme_object=True),
    "portal:job-artifact": Recipe(_get(_artifact_path), acme_object=True),
    "portal:switch-org": Recipe(
        lambda w, c: Prepared("post", "/org/", {"org": "acme"}), acme_object=True, foreign=403
    ),
    "portal:key-list": Recipe(_get("/keys/")),
    "portal:key-list#create": Recipe(_new_key),
    "portal:key-revoke#own": Recipe(_revoke("own")),
    "portal:key-revoke#member's": Recipe(_revoke("mia"), acme_object=True),
    "portal:key-revoke#admin's": Recipe(_revoke("adam"), acme_object=True),
    "portal:key-revoke#owner's": Recipe(_revoke("alice"), acme_object=True),
    "portal:reference": Recipe(_get("/reference/")),
    "portal:webhook-list": Recipe(_get("/webhooks/")),
    "portal:webhook-add": Recipe(_add_endpoint),
    "portal:webhook-detail": Recipe(
        _get(lambda w: f"/webhooks/{_endpoint(w).endpoint_id}/"), acme_object=True
    ),
    "portal:webhook-test": Recipe(_test_endpoint, acme_object=True),
    "portal:webhook-delete": Recipe(_delete_endpoint, acme_object=True),
    "portal:dataset-list": Recipe(_get("/datasets/")),
    "portal:dataset-upload": Recipe(_upload),
    "portal:dataset-preview": Recipe(
        _get(lambda w: f"/datasets/{_image_dataset(w).dataset_id}/preview/0.png"),
        acme_object=True,
    ),
    "portal:dataset-upload-chunk": Recipe(_chunk("datasets")),
    "portal:dataset-upload-status": Recipe(_upload_status("datasets")),
    "portal:model-upload-chunk": Recipe(_chunk("models")),
    "portal:model-upload-status": Recipe(_upload_status("models")),
    "portal:dataset-detail": Recipe(
        _get(lambda w: f"/datasets/{_dataset(w).dataset_id}/"), acme_object=True
    ),
    "portal:dataset-delete": Recipe(_delete_dataset, acme_object=True),
    "portal:model-list": Recipe(_get("/models/")),
    "portal:model-upload": Recipe(_upload_model),
    "portal:model-detail": Recipe(
        _get(lambda w: f"/models/{_model(w).model_id}/"), acme_object=True
    ),
    "portal:model-delete": Recipe(_delete_model, acme_object=True),
    "portal:profile": Recipe(_get("/profile/"), kind="signed-in"),
    "portal:profile#post": Recipe(
        lambda w, c: Prepared("post", "/profile/", {"time_zone": "Europe/Berlin"}),
        kind="signed-in",
    ),
    "portal:org-new": Recipe(_get("/orgs/new/"), kind="signed-in"),
    "portal:org-new#post": Recipe(_new_org, kind="signed-in"),
    "portal:member-list": Recipe(_get("/members/")),
    "portal:member-invite": Recipe(_invite),
    "portal:member-role#member": Recipe(_role("mia", "viewer"), acme_object=True),
    "portal:member-role#to-owner": Recipe(_role("mia", "owner"), acme_object=True),
    "portal:member-role#owner's": Recipe(_role("alice", "admin"), acme_object=True),
    "portal:member-remove": Recipe(_remove, acme_object=True),
    "portal:member-transfer": Recipe(_transfer, acme_object=True),
    "portal:member-leave": Recipe(_leave, expect=_leave_expected),
    "portal:invitation-revoke": Recipe(_revoke_invitation, acme_object=True),
    "portal:invitation": Recipe(
        _get(lambda w: f"/invitations/{invitations.token_for(_invitation(w))}/"),
        kind="public",
    ),
    "portal:invitation#accept": Recipe(_accept, kind="signed-in", expect=_accept_expected),
    # The organization's audit log (the caller's own: every role reads its own or is denied).
    "portal:audit-log": Recipe(_get("/org/audit/")),
    "portal:audit-csv": Recipe(lambda w, c: Prepared("get", "/org/audit.csv", {"action": "key."})),
    "console:overview": Recipe(_get("/console/"), kind="console"),
    "console:audit-log": Recipe(
        lambda w, c: Prepared("get", "/console/audit/", {"org": "acme"}), kind="console"
    ),
    "console:audit-csv": Recipe(_get("/console/audit.csv"), kind="console"),
    "portal:billing": Recipe(_get("/billing/")),
    "portal:budget-set": Recipe(_set_budget),
    "portal:invoice-list": Recipe(_get("/billing/invoices/")),
    # Every organization has this month's invoice: each caller sees their own.
    "portal:invoice-detail": Recipe(_get(lambda w: f"/billing/invoices/{_usage_month(w)}/")),
    "portal:invoice-csv": Recipe(_get(lambda w: f"/billing/invoices/{_usage_month(w)}/csv/")),
    "console:billing": Recipe(_get("/console/billing/"), kind="console"),
    "console:price-action": Recipe(_price, kind="console"),
    "console:adjust-action": Recipe(_adjust, kind="console"),
    "console:device-action": Recipe(_drain, kind="console"),
    "console:job-action": Recipe(_requeue, kind="console"),
    "console:quota-action": Recipe(_quota, kind="console"),
    "admin:index": Recipe(_get("/admin/"), kind="console"),
    **{
        f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist": Recipe(
            _get(f"/admin/{m._meta.app_label}/{m._meta.model_name}/"), kind="console"
        )
        for m in admin.site._registry
    },
}
CALLERS: list[Caller | None] = [*SESSIONS, None]  # None: anonymous


def test_every_portal_and_console_url_has_a_recipe() -> None:
    names = {
        f"{ns}:{p.name}"
        for ns, module in (("portal", portal_urls), ("console", console_urls))
        for p in module.urlpatterns
        if isinstance(p, URLPattern)
    }
    assert names == {name.split("#")[0] for name in RECIPES if not name.startswith("admin:")}


def _outcome(response) -> str:
    if response.status_code in (301, 302):
        location = response["Location"].split("?")[0]
        return "302 login" if location.endswith("/login/") else "302"
    return str(response.status_code)


def _ok(prepared: Prepared) -> str:
    if prepared.ok:
        return prepared.ok
    return "200" if prepared.method == "get" or prepared.path == "/jobs/estimate/" else "302"


def expected(recipe: Recipe, prepared: Prepared, c: Caller | None) -> str:
    if recipe.expect is not None:
        return recipe.expect(c)
    if recipe.kind == "public":
        if prepared.path.startswith("/invitations/"):
            return "200"  # the link shows its invitation to whoever holds it
        return {"/login/": "200" if c is None else "302", "/logout/": "302 login"}.get(
            prepared.path, "302"
        )
    if c is None:
        return "302 login"
    if recipe.kind == "signed-in":
        return _ok(prepared)
    if recipe.kind == "console":
        return _ok(prepared) if c.username == OPERATOR else "302 login"
    if recipe.acme_object and not c.in_acme:
        return str(recipe.foreign)
    action = prepared.action or resolve(prepared.path).func.action
    return _ok(prepared) if expected_allowed(c, action) else "403"


@pytest.fixture(scope="class")
def built_world(django_db_setup: None, django_db_blocker) -> Iterator[World]:  # type: ignore[no-untyped-def]
    """The people and the inventory, made once for the table's rows in a transaction rolled
    back after them; each row runs in a savepoint inside it (pytest-django's `db`), so what
    a row's requests change is gone before the next row."""
    with django_db_blocker.unblock(), transaction.atomic():
        world = make_world()
        capacity.sync_inventory(inventory())
        yield world
        transaction.set_rollback(True)


@pytest.fixture
def world(built_world: World, db: None) -> World:
    """The shared world as this row's own: its users and organizations read afresh from the
    database, in dictionaries of the row's own, so nothing an earlier row did to the objects
    in memory (or added to the world) reaches this one."""
    users = User.objects.in_bulk([u.pk for u in built_world.users.values()])
    orgs = Organization.objects.in_bulk([o.pk for o in built_world.orgs.values()])
    return World(
        {name: users[u.pk] for name, u in built_world.users.items()},
        {slug: orgs[o.pk] for slug, o in built_world.orgs.items()},
    )


class TestTheTable:
    """Every URL of the portal and the console, answered for every caller."""

    @pytest.mark.parametrize("name", sorted(RECIPES))
    def test_url_answers_every_role_as_the_table_says(self, name: str, world: World) -> None:
        _check_row(name, world)


def _check_row(name: str, world: World) -> None:
    recipe = RECIPES[name]
    got, want = {}, {}
    for c in CALLERS:
        who = "anonymous" if c is None else c.name
        prepared = recipe.prepare(world, c or SESSIONS[0])
        client = Client()
        if c is not None:
            client.force_login(world.users[c.username])
        response = getattr(client, prepared.method)(prepared.path, prepared.data)
        want[who] = expected(recipe, prepared, c)
        got[who] = _outcome(response)
        if prepared.changed is not None:
            assert prepared.changed() == (want[who] in ("200", "302")), (who, name)
    assert got == want


def test_a_new_key_has_the_chosen_scope_and_expiry() -> None:
    world = make_world()
    client = Client()
    client.force_login(world.users["vera"])
    client.post("/keys/", {"name": "dash", "scope": "read", "expires_in": "7"})
    page = client.get("/keys/")
    assert page.context["raw_key"] and _NEW_KEY_SESSION not in client.session
    key = ApiKey.objects.get(name="dash")
    assert key.scope == "read" and key.expires_at is not None
    assert "read" in page.content.decode() and "never" in page.content.decode()


def test_a_session_follows_role_changes_on_the_next_request() -> None:
    world = make_world()
    client = Client()
    client.force_login(world.users["mia"])
    assert client.get("/jobs/new/").status_code == 200
    world.orgs["acme"].memberships.filter(user=world.users["mia"]).update(role="viewer")
    assert client.get("/jobs/new/").status_code == 403
    world.orgs["acme"].memberships.filter(user=world.users["mia"]).delete()
    response = client.get("/jobs/")
    assert response.status_code == 403 and "No organization" in response.content.decode()
