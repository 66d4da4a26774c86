"""DatasetService servicer: authorize (each method's @rpc action), parse, call the datasets
facade, map. DojoErrors raised here become gRPC statuses in dojocloud.api.interceptors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc

from dojo.v1 import dataset_pb2, dataset_pb2_grpc
from dojocloud.api import mappers
from dojocloud.api.auth import rpc
from dojocloud.common.errors import FieldViolation, InvalidArgument
from dojocloud.datasets import facade as datasets
from dojocloud.tenancy.facade import Action, Principal, actor_for

_FORMATS = {dataset_pb2.NPZ: datasets.NPZ, dataset_pb2.TEXT: datasets.TEXT}
_FORMAT_ENUMS = {v: k for k, v in _FORMATS.items()}


class DatasetService(dataset_pb2_grpc.DatasetServiceServicer):
    @rpc(Action.DATASETS_WRITE)
    def CreateDataset(
        self,
        request_iterator: Iterator[dataset_pb2.CreateDatasetRequest],
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> dataset_pb2.Dataset:
        first = next(request_iterator, None)
        if first is None or first.WhichOneof("part") != "metadata":
            raise InvalidArgument(
                [FieldViolation("metadata", "the first message must carry the upload's metadata")]
            )
        meta = first.metadata
        mappers.check_parent(principal, meta.parent)
        request = datasets.UploadRequest(
            dataset_id=meta.dataset_id,
            format=_FORMATS.get(meta.format, ""),
            size=meta.size,
            sha256=meta.sha256,
            upload_id=meta.upload_id,
            offset=meta.offset,
            display_name=meta.display_name,
        )
        dataset = datasets.upload(
            principal,
            request,
            upload_chunks(request_iterator),
            actor_for(principal, context.peer() or ""),
        )
        return dataset_to_proto(dataset)

    @rpc(Action.DATASETS_READ)
    def GetUploadStatus(
        self,
        request: dataset_pb2.GetUploadStatusRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> dataset_pb2.UploadStatus:
        mappers.check_parent(principal, request.parent)
        state = datasets.upload_status(principal, request.upload_id)
        return dataset_pb2.UploadStatus(
            upload_id=state.upload_id,
            dataset=f"organizations/{principal.organization.slug}/datasets/{state.dataset_id}",
            committed_offset=state.committed,
            size=state.size_bytes,
            complete=state.result_id is not None,
        )

    @rpc(Action.DATASETS_READ)
    def GetDataset(
        self,
        request: dataset_pb2.GetDatasetRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> dataset_pb2.Dataset:
        return dataset_to_proto(datasets.get_dataset(principal, request.name))

    @rpc(Action.DATASETS_READ)
    def ListDatasets(
        self,
        request: dataset_pb2.ListDatasetsRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> dataset_pb2.ListDatasetsResponse:
        mappers.check_parent(principal, request.parent)
        rows, token = datasets.list_datasets(
            principal, page_size=request.page_size, page_token=request.page_token
        )
        return dataset_pb2.ListDatasetsResponse(
            datasets=[dataset_to_proto(d) for d in rows], next_page_token=token
        )

    @rpc(Action.DATASETS_WRITE)
    def DeleteDataset(
        self,
        request: dataset_pb2.DeleteDatasetRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> dataset_pb2.DeleteDatasetResponse:
        datasets.delete_dataset(principal, request.name, actor_for(principal, context.peer() or ""))
        return dataset_pb2.DeleteDatasetResponse()


def upload_chunks(requests: Iterator[Any]) -> Iterator[bytes]:
    """The chunks after an upload's metadata message (datasets and models alike)."""
    for i, message in enumerate(requests, start=1):
        if message.WhichOneof("part") != "chunk":
            raise InvalidArgument(
                [FieldViolation(f"messages[{i}]", "after the metadata, every message is a chunk")]
            )
        yield message.chunk


def dataset_to_proto(d: datasets.Dataset) -> dataset_pb2.Dataset:
    s = d.summary
    return dataset_pb2.Dataset(
        name=d.resource_name,
        display_name=d.display_name,
        format=_FORMAT_ENUMS.get(d.format, dataset_pb2.DATASET_FORMAT_UNSPECIFIED),
        size_bytes=d.size_bytes,
        sha256=d.sha256,
        x_shape=[int(v) for v in s.get("x_shape", [])],
        samples=int(s.get("samples", 0)),
        num_classes=int(s.get("num_classes", 0)),
        class_counts=[int(v) for v in s.get("class_counts", [])],
        text_lines=int(s.get("lines", 0)),
        y_dtype=str(s.get("y_dtype", "int64" if d.format == datasets.NPZ else "")),
        targets=int(s.get("targets", 0)),
        create_time=mappers.timestamp(d.created_at),
        creator=d.creator_label,
    )


def add_dataset_service(server: grpc.Server) -> None:
    dataset_pb2_grpc.add_DatasetServiceServicer_to_server(DatasetService(), server)
