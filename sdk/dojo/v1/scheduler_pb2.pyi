import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetCapacityRequest(_message.Message):
    __slots__ = ("pool",)
    POOL_FIELD_NUMBER: _ClassVar[int]
    pool: str
    def __init__(self, pool: _Optional[str] = ...) -> None: ...

class DeviceHolder(_message.Message):
    __slots__ = ("job", "tenant", "job_name")
    JOB_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    JOB_NAME_FIELD_NUMBER: _ClassVar[int]
    job: str
    tenant: str
    job_name: str
    def __init__(self, job: _Optional[str] = ..., tenant: _Optional[str] = ..., job_name: _Optional[str] = ...) -> None: ...

class TileSlot(_message.Message):
    __slots__ = ("id", "pool", "exapod", "cabinet", "tray", "row", "col", "state", "holder")
    ID_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    EXAPOD_FIELD_NUMBER: _ClassVar[int]
    CABINET_FIELD_NUMBER: _ClassVar[int]
    TRAY_FIELD_NUMBER: _ClassVar[int]
    ROW_FIELD_NUMBER: _ClassVar[int]
    COL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    id: str
    pool: str
    exapod: int
    cabinet: int
    tray: int
    row: int
    col: int
    state: str
    holder: DeviceHolder
    def __init__(self, id: _Optional[str] = ..., pool: _Optional[str] = ..., exapod: _Optional[int] = ..., cabinet: _Optional[int] = ..., tray: _Optional[int] = ..., row: _Optional[int] = ..., col: _Optional[int] = ..., state: _Optional[str] = ..., holder: _Optional[_Union[DeviceHolder, _Mapping]] = ...) -> None: ...

class GpuSlot(_message.Message):
    __slots__ = ("index", "state", "holder")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    index: int
    state: str
    holder: DeviceHolder
    def __init__(self, index: _Optional[int] = ..., state: _Optional[str] = ..., holder: _Optional[_Union[DeviceHolder, _Mapping]] = ...) -> None: ...

class GpuNodeCapacity(_message.Message):
    __slots__ = ("id", "pool", "gpus")
    ID_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    GPUS_FIELD_NUMBER: _ClassVar[int]
    id: str
    pool: str
    gpus: _containers.RepeatedCompositeFieldContainer[GpuSlot]
    def __init__(self, id: _Optional[str] = ..., pool: _Optional[str] = ..., gpus: _Optional[_Iterable[_Union[GpuSlot, _Mapping]]] = ...) -> None: ...

class PoolCapacity(_message.Message):
    __slots__ = ("pool", "accelerator", "total", "allocated", "free", "unavailable", "queued")
    POOL_FIELD_NUMBER: _ClassVar[int]
    ACCELERATOR_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    ALLOCATED_FIELD_NUMBER: _ClassVar[int]
    FREE_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    pool: str
    accelerator: str
    total: int
    allocated: int
    free: int
    unavailable: int
    queued: int
    def __init__(self, pool: _Optional[str] = ..., accelerator: _Optional[str] = ..., total: _Optional[int] = ..., allocated: _Optional[int] = ..., free: _Optional[int] = ..., unavailable: _Optional[int] = ..., queued: _Optional[int] = ...) -> None: ...

class Capacity(_message.Message):
    __slots__ = ("tiles", "gpu_nodes", "pools")
    TILES_FIELD_NUMBER: _ClassVar[int]
    GPU_NODES_FIELD_NUMBER: _ClassVar[int]
    POOLS_FIELD_NUMBER: _ClassVar[int]
    tiles: _containers.RepeatedCompositeFieldContainer[TileSlot]
    gpu_nodes: _containers.RepeatedCompositeFieldContainer[GpuNodeCapacity]
    pools: _containers.RepeatedCompositeFieldContainer[PoolCapacity]
    def __init__(self, tiles: _Optional[_Iterable[_Union[TileSlot, _Mapping]]] = ..., gpu_nodes: _Optional[_Iterable[_Union[GpuNodeCapacity, _Mapping]]] = ..., pools: _Optional[_Iterable[_Union[PoolCapacity, _Mapping]]] = ...) -> None: ...

class ListQueueRequest(_message.Message):
    __slots__ = ("pool", "page_size")
    POOL_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    pool: str
    page_size: int
    def __init__(self, pool: _Optional[str] = ..., page_size: _Optional[int] = ...) -> None: ...

class QueuedJob(_message.Message):
    __slots__ = ("job", "tenant", "pool", "position", "pending_reason", "priority", "accelerator", "count", "create_time", "state")
    JOB_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    PENDING_REASON_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    ACCELERATOR_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    job: str
    tenant: str
    pool: str
    position: int
    pending_reason: str
    priority: int
    accelerator: str
    count: int
    create_time: _timestamp_pb2.Timestamp
    state: str
    def __init__(self, job: _Optional[str] = ..., tenant: _Optional[str] = ..., pool: _Optional[str] = ..., position: _Optional[int] = ..., pending_reason: _Optional[str] = ..., priority: _Optional[int] = ..., accelerator: _Optional[str] = ..., count: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[str] = ...) -> None: ...

class ListQueueResponse(_message.Message):
    __slots__ = ("jobs", "total")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[QueuedJob]
    total: int
    def __init__(self, jobs: _Optional[_Iterable[_Union[QueuedJob, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class DrainRequest(_message.Message):
    __slots__ = ("target", "evict", "reason")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    EVICT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    target: str
    evict: bool
    reason: str
    def __init__(self, target: _Optional[str] = ..., evict: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class UndrainRequest(_message.Message):
    __slots__ = ("target", "reason")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    target: str
    reason: str
    def __init__(self, target: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class MarkFailedRequest(_message.Message):
    __slots__ = ("target", "reason")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    target: str
    reason: str
    def __init__(self, target: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class OperationResult(_message.Message):
    __slots__ = ("target", "devices", "jobs")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    JOBS_FIELD_NUMBER: _ClassVar[int]
    target: str
    devices: int
    jobs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, target: _Optional[str] = ..., devices: _Optional[int] = ..., jobs: _Optional[_Iterable[str]] = ...) -> None: ...

class Quota(_message.Message):
    __slots__ = ("tenant", "pool", "nominal", "borrowing_limit", "lending_limit", "cohort", "weight", "decayed_usage", "update_time", "updated_by")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    NOMINAL_FIELD_NUMBER: _ClassVar[int]
    BORROWING_LIMIT_FIELD_NUMBER: _ClassVar[int]
    LENDING_LIMIT_FIELD_NUMBER: _ClassVar[int]
    COHORT_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    DECAYED_USAGE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    pool: str
    nominal: int
    borrowing_limit: int
    lending_limit: int
    cohort: str
    weight: float
    decayed_usage: float
    update_time: _timestamp_pb2.Timestamp
    updated_by: str
    def __init__(self, tenant: _Optional[str] = ..., pool: _Optional[str] = ..., nominal: _Optional[int] = ..., borrowing_limit: _Optional[int] = ..., lending_limit: _Optional[int] = ..., cohort: _Optional[str] = ..., weight: _Optional[float] = ..., decayed_usage: _Optional[float] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_by: _Optional[str] = ...) -> None: ...

class GetQuotaRequest(_message.Message):
    __slots__ = ("tenant", "pool")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    pool: str
    def __init__(self, tenant: _Optional[str] = ..., pool: _Optional[str] = ...) -> None: ...

class ListQuotasRequest(_message.Message):
    __slots__ = ("tenant",)
    TENANT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    def __init__(self, tenant: _Optional[str] = ...) -> None: ...

class ListQuotasResponse(_message.Message):
    __slots__ = ("quotas",)
    QUOTAS_FIELD_NUMBER: _ClassVar[int]
    quotas: _containers.RepeatedCompositeFieldContainer[Quota]
    def __init__(self, quotas: _Optional[_Iterable[_Union[Quota, _Mapping]]] = ...) -> None: ...

class SetQuotaRequest(_message.Message):
    __slots__ = ("quota", "reason")
    QUOTA_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    quota: Quota
    reason: str
    def __init__(self, quota: _Optional[_Union[Quota, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class PreemptJobRequest(_message.Message):
    __slots__ = ("name", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RequeueJobRequest(_message.Message):
    __slots__ = ("name", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class JobPlacement(_message.Message):
    __slots__ = ("job", "state", "pool", "devices", "preempt_requested", "state_reason")
    JOB_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    PREEMPT_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    STATE_REASON_FIELD_NUMBER: _ClassVar[int]
    job: str
    state: str
    pool: str
    devices: _containers.RepeatedScalarFieldContainer[str]
    preempt_requested: bool
    state_reason: str
    def __init__(self, job: _Optional[str] = ..., state: _Optional[str] = ..., pool: _Optional[str] = ..., devices: _Optional[_Iterable[str]] = ..., preempt_requested: _Optional[bool] = ..., state_reason: _Optional[str] = ...) -> None: ...
