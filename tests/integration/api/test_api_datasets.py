"""DatasetService on a real gRPC server and database, storage in a temporary folder: the
resumable upload, validation that stores nothing for bad input, the quota, another
organization's NOT_FOUND on every RPC (estimates and jobs included), and deletion refused
while a job uses the dataset."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest

from dojo import errors
from dojo.client import Client
from dojo.datasets import derived_upload_id
from dojo.v1 import dataset_pb2, dataset_pb2_grpc
from dojocloud.audit.facade import AuditEvent
from dojocloud.datasets.models import Dataset, DatasetUpload
from tests.integration.api.conftest import Keys
from tests.support.people import make_spec

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def storage(settings: object, tmp_path: Path) -> Path:
    root = tmp_path / "storage"
    settings.STORAGE_URL = root.as_uri()  # type: ignore[attr-defined]
    settings.CACHE_DIR = tmp_path / "cache"  # type: ignore[attr-defined]
    return root


def npz_bytes(n: int = 40, **arrays: np.ndarray) -> bytes:
    rng = np.random.default_rng(0)
    data = {
        "x": rng.normal(size=(n, 1, 8, 8)).astype(np.float32),
        "y": (np.arange(n) % 3).astype(np.int64),
    }
    data.update(arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **data)  # type: ignore[arg-type]
    return buffer.getvalue()


def write(tmp_path: Path, payload: bytes, name: str = "data.npz") -> Path:
    path = tmp_path / name
    path.write_bytes(payload)
    return path


def stored(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def assert_nothing_stored(root: Path) -> None:
    assert stored(root) == [] and not Dataset.objects.exists()
    assert not DatasetUpload.objects.exists()


def test_upload_get_list_and_a_job_on_it(acme: Client, tmp_path: Path, storage: Path) -> None:
    path = write(tmp_path, npz_bytes())
    seen: list[int] = []
    d = acme.create_dataset(path, "digits-like", on_progress=lambda done, total: seen.append(done))
    assert d.name == "organizations/acme/datasets/digits-like"
    assert list(d.x_shape) == [40, 1, 8, 8] and d.num_classes == 3
    assert list(d.class_counts) == [14, 13, 13]
    assert d.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert seen[-1] == path.stat().st_size
    assert [x.name for x in acme.list_datasets()] == [d.name]
    assert acme.get_dataset(d.name).size_bytes == path.stat().st_size
    assert len(stored(storage)) == 1  # the dataset's object; the parts are gone
    # Running the same upload again finds it done.
    assert acme.create_dataset(path, "digits-like").name == d.name
    spec = make_spec("on-upload", dataset={"name": d.name})
    spec.model.architecture = "cnn"
    spec.model.params.clear()
    assert acme.estimate_job(spec)
    assert acme.create_job(spec).spec.dataset.name == d.name


def test_pages(acme: Client, tmp_path: Path) -> None:
    path = write(tmp_path, npz_bytes())
    for i in range(3):
        acme.create_dataset(path, f"d{i}")
    first = acme.list_datasets_page(page_size=2)
    assert [d.name.rsplit("/", 1)[1] for d in first.datasets] == ["d0", "d1"]
    rest = acme.list_datasets_page(page_size=2, page_token=first.next_page_token)
    assert [d.name.rsplit("/", 1)[1] for d in rest.datasets] == ["d2"]
    assert rest.next_page_token == ""


def raw_stream(
    address: str, key: str, meta: dataset_pb2.UploadMetadata, chunks: list[bytes]
) -> dataset_pb2.Dataset:
    def messages() -> Iterator[dataset_pb2.CreateDatasetRequest]:
        yield dataset_pb2.CreateDatasetRequest(metadata=meta)
        for c in chunks:
            yield dataset_pb2.CreateDatasetRequest(chunk=c)

    with grpc.insecure_channel(address) as channel:
        return dataset_pb2_grpc.DatasetServiceStub(channel).CreateDataset(  # type: ignore[no-any-return]
            messages(), timeout=30, metadata=[("authorization", f"Bearer {key}")]
        )


def metadata(payload: bytes, **changes: object) -> dataset_pb2.UploadMetadata:
    values: dict[str, object] = {
        "dataset_id": "resumed",
        "format": dataset_pb2.NPZ,
        "size": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "upload_id": "u1",
    }
    values.update(changes)
    return dataset_pb2.UploadMetadata(**values)  # type: ignore[arg-type]


def test_a_truncated_upload_stores_no_dataset_and_resumes(
    acme: Client, keys: object, address: str, tmp_path: Path
) -> None:
    payload = npz_bytes(400)
    half = len(payload) // 2
    key = keys.acme  # type: ignore[attr-defined]
    with pytest.raises(grpc.RpcError) as info:
        raw_stream(address, key, metadata(payload), [payload[:half]])
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"truncated upload: {half} of {len(payload)}" in str(info.value.details())
    assert not Dataset.objects.exists()
    assert acme.get_upload_status("u1").committed_offset == half
    with pytest.raises(grpc.RpcError) as info:  # resuming from the wrong offset
        raw_stream(address, key, metadata(payload, offset=3), [payload[3:]])
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    d = raw_stream(address, key, metadata(payload, offset=half), [payload[half:]])
    assert d.sha256 == hashlib.sha256(payload).hexdigest() and d.samples == 400
    # The SDK resumes by itself: a second file, half sent, then the whole command again.
    path = write(tmp_path, npz_bytes(300))
    other = path.read_bytes()
    sdk_id = derived_upload_id("", "sdk", len(other), hashlib.sha256(other).hexdigest())
    with pytest.raises(grpc.RpcError):
        raw_stream(
            address, key, metadata(other, dataset_id="sdk", upload_id=sdk_id), [other[:1000]]
        )
    sent: list[int] = []
    assert acme.create_dataset(path, "sdk", on_progress=lambda a, b: sent.append(a)).samples == 300
    assert sent[0] == 1000  # it started where the server's committed offset was


def test_a_wrong_checksum_stores_nothing(
    acme: Client, keys: object, address: str, storage: Path
) -> None:
    payload = npz_bytes()
    with pytest.raises(grpc.RpcError) as info:
        raw_stream(address, keys.acme, metadata(payload, sha256="0" * 64), [payload])  # type: ignore[attr-defined]
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "sha256" in str(info.value.details())
    assert_nothing_stored(storage)


def test_bytes_beyond_the_declared_size_store_nothing(
    keys: object, address: str, storage: Path
) -> None:
    payload = npz_bytes()
    with pytest.raises(grpc.RpcError) as info:
        raw_stream(address, keys.acme, metadata(payload, size=100), [payload])  # type: ignore[attr-defined]
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert_nothing_stored(storage)


def _pickled() -> bytes:
    buffer = io.BytesIO()
    x = np.empty(4, dtype=object)
    x[:] = [{"a": 1}] * 4
    np.savez(buffer, x=x, y=np.zeros(4, dtype=np.int64))
    return buffer.getvalue()


BAD_FILES = {
    "pickled": (_pickled(), "x: an object array (pickled"),
    "float64": (npz_bytes(x=np.zeros((40, 5))), "x: dtype is float64; expected float32"),
    "int32 labels": (npz_bytes(y=np.zeros(40, dtype=np.int32)), "y: dtype is int32"),
    "lengths": (npz_bytes(y=np.zeros(39, dtype=np.int64)), "x has 40 samples but y has 39"),
    "channels last": (
        npz_bytes(x=np.zeros((40, 8, 8, 3), dtype=np.float32)),
        "looks channels-last",
    ),
    "not a zip": (b"plain text, not arrays" * 3, "not an .npz file"),
}


def _without_y() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, x=np.zeros((4, 3), dtype=np.float32))
    return buffer.getvalue()


BAD_FILES["no y"] = (_without_y(), "missing array(s) ['y']")


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_npz_is_refused_naming_the_problem_and_stores_nothing(
    acme: Client, tmp_path: Path, storage: Path, case: str
) -> None:
    payload, expected = BAD_FILES[case]
    assert payload is not None
    with pytest.raises(errors.InvalidArgumentError) as info:
        acme.create_dataset(write(tmp_path, payload), "bad", format="npz")
    (v,) = info.value.field_violations
    assert v.field == "file" and expected in v.description, v.description
    assert_nothing_stored(storage)


def test_text_must_be_utf8(acme: Client, tmp_path: Path, storage: Path) -> None:
    with pytest.raises(errors.InvalidArgumentError) as info:
        acme.create_dataset(write(tmp_path, b"caf\xe9 au lait, " * 4, "t.txt"), "t")
    assert "not UTF-8 text: byte 0xe9 at offset 3" in info.value.field_violations[0].description
    assert_nothing_stored(storage)
    text = acme.create_dataset(write(tmp_path, "naïve café\n".encode() * 50, "t.txt"), "t")
    assert text.format == dataset_pb2.TEXT and text.text_lines == 50


def test_an_oversize_file_is_refused_before_any_byte(
    acme: Client, tmp_path: Path, storage: Path, settings: object
) -> None:
    settings.DATASET_MAX_BYTES = 1000  # type: ignore[attr-defined]
    with pytest.raises(errors.InvalidArgumentError) as info:
        acme.create_dataset(write(tmp_path, npz_bytes()), "big")
    assert info.value.field_violations[0].field == "metadata.size"
    assert "DOJO_DATASET_MAX_BYTES" in info.value.field_violations[0].description
    assert_nothing_stored(storage)


def test_the_storage_quota(acme: Client, tmp_path: Path, settings: object) -> None:
    path = write(tmp_path, npz_bytes())
    settings.STORAGE_QUOTA_BYTES = int(path.stat().st_size * 1.5)  # type: ignore[attr-defined]
    acme.create_dataset(path, "one")
    with pytest.raises(errors.ResourceExhaustedError) as info:
        acme.create_dataset(path, "two")
    (q,) = info.value.quota_violations
    assert q.subject == "organizations/acme/storage" and "DOJO_STORAGE_QUOTA_BYTES" in q.description
    assert info.value.metadata["retryable"] == "false"  # waiting does not free storage
    assert Dataset.objects.count() == 1


def test_an_existing_id_is_already_exists(acme: Client, tmp_path: Path) -> None:
    acme.create_dataset(write(tmp_path, npz_bytes()), "same")
    with pytest.raises(errors.AlreadyExistsError):
        acme.create_dataset(write(tmp_path, npz_bytes(50), "b.npz"), "same")


def test_another_organization_gets_not_found_everywhere(
    acme: Client, globex: Client, tmp_path: Path, address: str, keys: object
) -> None:
    d = acme.create_dataset(write(tmp_path, npz_bytes()), "private")
    acme.create_dataset(write(tmp_path, npz_bytes(20), "u.npz"), "p2", upload_id="acme-upload")
    spec = make_spec("steal", dataset={"name": d.name})
    spec.model.architecture = "cnn"
    spec.model.params.clear()
    calls = [
        lambda: globex.get_dataset(d.name),
        lambda: globex.delete_dataset(d.name),
        lambda: globex.list_datasets_page(parent="organizations/acme"),
        lambda: globex.get_upload_status("acme-upload", parent="organizations/acme"),
        lambda: globex.estimate_job(spec),
        lambda: globex.create_job(spec),
    ]
    for call in calls:
        with pytest.raises(errors.NotFoundError):
            call()
    with pytest.raises(grpc.RpcError) as info:  # uploading into acme
        raw_stream(
            address,
            keys.globex,  # type: ignore[attr-defined]
            metadata(npz_bytes(), parent="organizations/acme"),
            [npz_bytes()],
        )
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert list(globex.list_datasets()) == []
    assert acme.get_dataset(d.name).name == d.name  # untouched


def test_delete_waits_for_the_jobs_that_use_it(acme: Client, tmp_path: Path, storage: Path) -> None:
    d = acme.create_dataset(write(tmp_path, npz_bytes()), "used")
    spec = make_spec("user", dataset={"name": d.name})
    spec.model.architecture = "cnn"
    spec.model.params.clear()
    job = acme.create_job(spec)
    with pytest.raises(errors.FailedPreconditionError) as info:
        acme.delete_dataset(d.name)
    assert job.name in info.value.message and info.value.reason == "DATASET_IN_USE"
    assert acme.get_dataset(d.name)
    acme.cancel_job(job.name)
    acme.delete_dataset(d.name)
    with pytest.raises(errors.NotFoundError):
        acme.get_dataset(d.name)
    assert stored(storage) == []
    with pytest.raises(errors.NotFoundError):  # a job can no longer name it
        acme.create_job(spec)


def test_the_old_server_path_option_is_invalid_argument(acme: Client) -> None:
    with pytest.raises(errors.InvalidArgumentError) as info:
        acme.estimate_job(make_spec(dataset={"name": "npz"}))
    assert "dojo datasets upload" in info.value.field_violations[0].description


def test_upload_and_delete_are_audited_with_the_key_and_peer(
    acme: Client, keys: Keys, tmp_path: Path
) -> None:
    path = write(tmp_path, npz_bytes())
    d = acme.create_dataset(path, "audited")
    acme.create_dataset(path, "audited")  # the finished upload again: no second row
    spec = make_spec("user", dataset={"name": d.name})
    spec.model.architecture = "cnn"
    spec.model.params.clear()
    job = acme.create_job(spec)
    with pytest.raises(errors.FailedPreconditionError):
        acme.delete_dataset(d.name)  # refused: nothing changed, nothing recorded
    acme.cancel_job(job.name)
    acme.delete_dataset(d.name)
    rows = list(AuditEvent.objects.filter(action__startswith="dataset.").order_by("id").values())
    assert [r["action"] for r in rows] == ["dataset.created", "dataset.deleted"]
    prefix = keys.acme.split("_")[1]
    for row in rows:
        assert row["target"] == d.name and row["org_slug"] == "acme"
        assert row["actor"] == f"key dojo_{prefix} (alice)"
        assert row["source"].startswith("ipv4:127.0.0.1:")
        assert keys.acme not in str(row)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert rows[0]["after"] == {
        "format": "npz",
        "size_bytes": path.stat().st_size,
        "sha256": sha,
        "samples": 40,
    }
    assert rows[1]["before"] == rows[0]["after"] and rows[1]["after"] is None


def test_a_refused_upload_is_not_audited(acme: Client, tmp_path: Path) -> None:
    with pytest.raises(errors.InvalidArgumentError):
        acme.create_dataset(write(tmp_path, b"not an npz"), "junk")
    assert not AuditEvent.objects.filter(action__startswith="dataset.").exists()
