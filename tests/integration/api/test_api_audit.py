"""The audit trail over gRPC, on a real server: operators' actions recorded with the key's
prefix and the call's peer (never the key), and ListAuditEvents (pages, filters, who may read
whose rows) through the SDK and `dojo audit list`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta

import grpc
import pytest
from django.utils import timezone

from dojo import cli
from dojo.client import Client
from dojo.errors import InvalidArgumentError, NotFoundError, PermissionDeniedError
from dojo.v1 import scheduler_pb2 as pb
from dojo.v1 import scheduler_pb2_grpc
from dojocloud.audit.facade import Actor, AuditAction, AuditEvent, record
from dojocloud.common.inventory import inventory
from dojocloud.jobs import services as jobs
from dojocloud.scheduling import capacity
from dojocloud.tenancy.models import ApiKey
from dojocloud.tenancy.services import principal_for_user
from tests.support.people import admit, make_spec
from tests.support.roles import World, caller, make_world

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_request_limits")]

TILE = "dojo/e0/c0/t0/r0c0"


@pytest.fixture
def world(transactional_db: None) -> World:
    world = make_world()
    capacity.sync_inventory(inventory())
    return world


@pytest.fixture
def keys(world: World) -> dict[str, str]:
    """A key of each of: olga (operator, owner), adam (acme admin), vera (acme viewer),
    mia (acme member), bob (globex owner)."""
    return {u: world.key(caller(u, u)) for u in ("olga", "adam", "vera", "mia", "bob")}


def _prefix(raw: str) -> str:
    return raw.split("_")[1]


def _everything() -> str:
    return "\n".join(
        f"{e.actor}|{e.source}|{e.target}|{json.dumps(e.before)}|{json.dumps(e.after)}"
        for e in AuditEvent.objects.all()
    )


@pytest.fixture
def scheduler(address: str, keys: dict[str, str]) -> Iterator[Callable[..., object]]:
    with grpc.insecure_channel(address) as channel:
        stub = scheduler_pb2_grpc.SchedulerServiceStub(channel)
        meta = [("authorization", f"Bearer {keys['olga']}")]
        yield lambda method, request: getattr(stub, method)(request, timeout=30, metadata=meta)


def test_operator_actions_over_grpc_record_the_key_the_peer_and_the_change(
    world: World, keys: dict[str, str], scheduler: Callable[..., object]
) -> None:
    label = f"key dojo_{_prefix(keys['olga'])} (olga)"
    quota = pb.Quota(tenant="acme", pool="dojo", nominal=2)
    scheduler("SetQuota", pb.SetQuotaRequest(quota=quota, reason="first"))
    quota.nominal = 3
    scheduler("SetQuota", pb.SetQuotaRequest(quota=quota, reason="more"))
    scheduler("Drain", pb.DrainRequest(target=TILE, reason="firmware"))
    scheduler("Undrain", pb.UndrainRequest(target=TILE))
    scheduler("MarkFailed", pb.MarkFailedRequest(target=TILE, reason="dead"))
    acme = principal_for_user(world.users["alice"], "acme")
    job = jobs.create_job(acme, make_spec("audited"))
    admit(job, ("dojo/e0/c0/t0/r0c1",))
    scheduler("PreemptJob", pb.PreemptJobRequest(name=job.resource_name, reason="make room"))
    scheduler("RequeueJob", pb.RequeueJobRequest(name=job.resource_name))

    ops = [
        e
        for e in AuditEvent.objects.order_by("id")
        if e.action.split(".")[0] in ("quota", "device", "job")
    ]
    rows = {(e.action, e.after.get("reason")): e for e in ops}
    assert [e.action for e in ops] == [
        "quota.set",
        "quota.set",
        "device.drained",
        "device.undrained",
        "device.marked_failed",
        "job.preempted",
        "job.requeued",
    ]
    for e in ops:
        assert e.actor == label and e.actor_user_id == world.users["olga"].pk
        assert e.source.startswith(("ipv4:127.0.0.1:", "ipv6:")), e.source
    first, second = rows[("quota.set", "first")], rows[("quota.set", "more")]
    assert first.before is None and first.after["nominal"] == 2
    assert second.before["nominal"] == 2 and second.after["nominal"] == 3
    # A tenant's quota and jobs are that tenant's rows; the fleet's are no organization's.
    assert {first.org_slug, first.organization_id} == {"acme", world.orgs["acme"].pk}
    drained = rows[("device.drained", "firmware")]
    assert drained.organization_id is None and drained.target == f"devices/{TILE}"
    assert drained.before == {"status": {"free": 1}} and drained.after["status"] == {"draining": 1}
    assert rows[("device.marked_failed", "dead")].before == {"status": {"free": 1}}
    preempted = rows[("job.preempted", "make room")]
    assert preempted.organization_id == world.orgs["acme"].pk
    assert preempted.target == job.resource_name and preempted.before == {"state": "SCHEDULED"}
    requeued = rows[("job.requeued", "")]
    assert requeued.before == {"state": "SCHEDULED"} and requeued.after["state"] == "QUEUED"
    for raw in keys.values():
        assert raw not in _everything()
    assert not any(k.key_hash in _everything() for k in ApiKey.objects.all())


@pytest.fixture
def client_of(connect: Callable[[str], Client], keys: dict[str, str]) -> Callable[[str], Client]:
    return lambda username: connect(keys[username])


def _seed(world: World) -> None:
    """Five acme rows by "seeder" over two days (two member events, three key events), one of
    globex's, one of the fleet's."""
    acme, globex = world.orgs["acme"], world.orgs["globex"]
    base = timezone.now() - timedelta(days=2)
    actions = [AuditAction.MEMBER_ADDED, AuditAction.MEMBER_ROLE_CHANGED] + [
        AuditAction.KEY_CREATED
    ] * 3
    for i, action in enumerate(actions):
        AuditEvent.objects.create(
            at=base + timedelta(hours=12 * i),
            organization=acme,
            org_slug="acme",
            actor="seeder",
            source="10.0.0.1",
            action=str(action),
            target=f"t{i}",
            before={"role": "member"},
            after={"role": "admin"},
        )
    record(
        AuditAction.KEY_CREATED,
        actor=Actor(label="seeder"),
        org_slug="globex",
        organization_id=globex.pk,
    )
    record(AuditAction.DEVICE_DRAINED, actor=Actor(label="seeder"), target=f"devices/{TILE}")


def test_list_pages_cover_the_organizations_rows_newest_first(
    world: World, client_of: Callable[[str], Client]
) -> None:
    _seed(world)
    adam = client_of("adam")
    first = adam.list_audit_events_page(actor="seeder", page_size=2)
    assert [e.target for e in first.events] == ["t4", "t3"] and first.next_page_token
    every = list(adam.list_audit_events(actor="seeder", page_size=2))
    assert [e.target for e in every] == [
        "t4",
        "t3",
        "t2",
        "t1",
        "t0",
    ]  # not globex's, nor the fleet's
    e = every[-1]
    assert e.organization == "organizations/acme" and e.source == "10.0.0.1"
    assert json.loads(e.before_json) == {"role": "member"}
    assert json.loads(e.after_json) == {"role": "admin"}
    assert [
        x.target
        for x in adam.list_audit_events(parent="organizations/acme", actor="seed", action="member.")
    ] == ["t1", "t0"]
    assert [x.target for x in adam.list_audit_events(action="member.role_changed")] == ["t1"]
    base = every[-1].time.ToDatetime()
    ranged = adam.list_audit_events(
        actor="seeder",
        since=base + timedelta(hours=12),
        until=base + timedelta(hours=36),
    )
    assert [x.target for x in ranged] == ["t2", "t1"]  # since inclusive, until exclusive


def test_who_may_read_whose_audit_log(world: World, client_of: Callable[[str], Client]) -> None:
    _seed(world)
    with pytest.raises(NotFoundError):  # another tenant's log does not exist for bob
        list(client_of("bob").list_audit_events(parent="organizations/acme"))
    for reader in ("vera", "mia"):  # viewers and members: not for them
        with pytest.raises(PermissionDeniedError, match="audit log"):
            list(client_of(reader).list_audit_events())
    with pytest.raises(PermissionDeniedError, match="operators"):
        list(client_of("adam").list_audit_events(parent="organizations/-"))
    olga = client_of("olga")  # the operator: any organization's, and everything
    assert {
        e.target for e in olga.list_audit_events(parent="organizations/acme", actor="seeder")
    } == {f"t{i}" for i in range(5)}
    everything = list(olga.list_audit_events(parent="organizations/-", actor="seeder"))
    assert len(everything) == 7
    assert {e.organization for e in everything} == {
        "organizations/acme",
        "organizations/globex",
        "",
    }
    with pytest.raises(NotFoundError):
        list(olga.list_audit_events(parent="organizations/nope"))


def test_bad_filters_name_their_fields(world: World, client_of: Callable[[str], Client]) -> None:
    adam = client_of("adam")
    with pytest.raises(InvalidArgumentError) as bad:
        adam.list_audit_events_page(action="membr.", page_token="zzz")
    assert "action" in {v.field for v in bad.value.field_violations}
    with pytest.raises(InvalidArgumentError) as bad:
        adam.list_audit_events_page(parent="orgs/acme")
    assert [v.field for v in bad.value.field_violations] == ["parent"]
    now = timezone.now()
    with pytest.raises(InvalidArgumentError) as bad:
        adam.list_audit_events_page(since=now, until=now - timedelta(days=1))
    assert [v.field for v in bad.value.field_violations] == ["until"]


def test_cli_lists_a_table_and_json_lines(
    world: World,
    address: str,
    keys: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _seed(world)
    common = ["--server", address, "--api-key", keys["adam"]]
    assert cli.main(["audit", "list", *common, "--actor", "seeder", "--action", "member."]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split() == ["TIME", "ORG", "ACTOR", "SOURCE", "ACTION", "TARGET", "CHANGE"]
    assert len(lines) == 3
    assert "member.role_changed" in lines[1] and "seeder" in lines[1] and "10.0.0.1" in lines[1]
    assert "role: member → admin" in lines[1]
    args = ["audit", "list", *common, "-o", "json", "--actor", "seeder", "--since", "7d"]
    assert cli.main(args) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [r["target"] for r in rows] == ["t4", "t3", "t2", "t1", "t0"]
    assert rows[0]["after"] == {"role": "admin"} and rows[0]["organization"] == "organizations/acme"
    assert cli.main(["audit", "list", *common, "--all"]) == 3  # adam is no operator
    assert "operators" in capsys.readouterr().err
