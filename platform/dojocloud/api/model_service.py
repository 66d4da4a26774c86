"""ModelService servicer: authorize (each method's @rpc action), parse, call the datasets
facade (models live beside datasets), map. DojoErrors become gRPC statuses in
dojocloud.api.interceptors."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from dojo.v1 import model_pb2, model_pb2_grpc
from dojocloud.api import mappers
from dojocloud.api.auth import rpc
from dojocloud.api.dataset_service import upload_chunks
from dojocloud.common.errors import FieldViolation, InvalidArgument
from dojocloud.datasets import facade as datasets
from dojocloud.tenancy.facade import Action, Principal, actor_for


class ModelService(model_pb2_grpc.ModelServiceServicer):
    @rpc(Action.MODELS_WRITE)
    def CreateModel(
        self,
        request_iterator: Iterator[model_pb2.CreateModelRequest],
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> model_pb2.Model:
        first = next(request_iterator, None)
        if first is None or first.WhichOneof("part") != "metadata":
            raise InvalidArgument(
                [FieldViolation("metadata", "the first message must carry the upload's metadata")]
            )
        meta = first.metadata
        mappers.check_parent(principal, meta.parent)
        request = datasets.UploadRequest(
            dataset_id=meta.model_id,
            format=datasets.ONNX,
            size=meta.size,
            sha256=meta.sha256,
            upload_id=meta.upload_id,
            offset=meta.offset,
            display_name=meta.display_name,
            kind=datasets.MODEL,
        )
        model = datasets.upload_model(
            principal,
            request,
            upload_chunks(request_iterator),
            actor_for(principal, context.peer() or ""),
        )
        return model_to_proto(model)

    @rpc(Action.MODELS_READ)
    def GetUploadStatus(
        self,
        request: model_pb2.GetModelUploadStatusRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> model_pb2.ModelUploadStatus:
        mappers.check_parent(principal, request.parent)
        state = datasets.upload_status(principal, request.upload_id, datasets.MODEL)
        return model_pb2.ModelUploadStatus(
            upload_id=state.upload_id,
            model=f"organizations/{principal.organization.slug}/models/{state.dataset_id}",
            committed_offset=state.committed,
            size=state.size_bytes,
            complete=state.model_result_id is not None,
        )

    @rpc(Action.MODELS_READ)
    def GetModel(
        self,
        request: model_pb2.GetModelRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> model_pb2.Model:
        return model_to_proto(datasets.get_model(principal, request.name))

    @rpc(Action.MODELS_READ)
    def ListModels(
        self,
        request: model_pb2.ListModelsRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> model_pb2.ListModelsResponse:
        mappers.check_parent(principal, request.parent)
        rows, token = datasets.list_models(
            principal, page_size=request.page_size, page_token=request.page_token
        )
        return model_pb2.ListModelsResponse(
            models=[model_to_proto(m) for m in rows], next_page_token=token
        )

    @rpc(Action.MODELS_WRITE)
    def DeleteModel(
        self,
        request: model_pb2.DeleteModelRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> model_pb2.DeleteModelResponse:
        datasets.delete_model(principal, request.name, actor_for(principal, context.peer() or ""))
        return model_pb2.DeleteModelResponse()


def _tensors(values: list[dict[str, object]]) -> list[model_pb2.TensorInfo]:
    return [
        model_pb2.TensorInfo(
            name=str(v["name"]),
            shape=[str(d) for d in v["shape"]],  # type: ignore[attr-defined]
            dtype=str(v["dtype"]),
        )
        for v in values
    ]


def model_to_proto(m: datasets.OnnxModel) -> model_pb2.Model:
    s = m.summary
    return model_pb2.Model(
        name=m.resource_name,
        display_name=m.display_name,
        size_bytes=m.size_bytes,
        sha256=m.sha256,
        inputs=_tensors(s.get("inputs", [])),
        outputs=_tensors(s.get("outputs", [])),
        op_counts={str(k): int(v) for k, v in s.get("op_counts", {}).items()},
        parameters=int(s.get("parameters", 0)),
        opset=int(s.get("opset", 0)),
        create_time=mappers.timestamp(m.created_at),
        creator=m.creator_label,
    )


def add_model_service(server: grpc.Server) -> None:
    model_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(), server)
