import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    QUEUED: _ClassVar[JobState]
    SCHEDULED: _ClassVar[JobState]
    RUNNING: _ClassVar[JobState]
    SUCCEEDED: _ClassVar[JobState]
    FAILED: _ClassVar[JobState]
    CANCELLED: _ClassVar[JobState]
    PREEMPTED: _ClassVar[JobState]
JOB_STATE_UNSPECIFIED: JobState
QUEUED: JobState
SCHEDULED: JobState
RUNNING: JobState
SUCCEEDED: JobState
FAILED: JobState
CANCELLED: JobState
PREEMPTED: JobState

class JobSpec(_message.Message):
    __slots__ = ("name", "model", "dataset", "training", "resources", "limits", "priority_class", "preemptible", "placement")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    TRAINING_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_CLASS_FIELD_NUMBER: _ClassVar[int]
    PREEMPTIBLE_FIELD_NUMBER: _ClassVar[int]
    PLACEMENT_FIELD_NUMBER: _ClassVar[int]
    name: str
    model: ModelSpec
    dataset: DatasetSpec
    training: TrainingSpec
    resources: ResourceSpec
    limits: LimitsSpec
    priority_class: str
    preemptible: bool
    placement: str
    def __init__(self, name: _Optional[str] = ..., model: _Optional[_Union[ModelSpec, _Mapping]] = ..., dataset: _Optional[_Union[DatasetSpec, _Mapping]] = ..., training: _Optional[_Union[TrainingSpec, _Mapping]] = ..., resources: _Optional[_Union[ResourceSpec, _Mapping]] = ..., limits: _Optional[_Union[LimitsSpec, _Mapping]] = ..., priority_class: _Optional[str] = ..., preemptible: _Optional[bool] = ..., placement: _Optional[str] = ...) -> None: ...

class ModelSpec(_message.Message):
    __slots__ = ("architecture", "params", "onnx", "task")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    ONNX_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    architecture: str
    params: _containers.ScalarMap[str, int]
    onnx: str
    task: str
    def __init__(self, architecture: _Optional[str] = ..., params: _Optional[_Mapping[str, int]] = ..., onnx: _Optional[str] = ..., task: _Optional[str] = ...) -> None: ...

class DatasetSpec(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class TrainingSpec(_message.Message):
    __slots__ = ("steps", "batch_size", "optimizer", "learning_rate", "precision", "checkpoint_interval", "seed")
    STEPS_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    OPTIMIZER_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    steps: int
    batch_size: int
    optimizer: str
    learning_rate: float
    precision: str
    checkpoint_interval: int
    seed: int
    def __init__(self, steps: _Optional[int] = ..., batch_size: _Optional[int] = ..., optimizer: _Optional[str] = ..., learning_rate: _Optional[float] = ..., precision: _Optional[str] = ..., checkpoint_interval: _Optional[int] = ..., seed: _Optional[int] = ...) -> None: ...

class ResourceSpec(_message.Message):
    __slots__ = ("accelerators", "count")
    ACCELERATORS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    accelerators: _containers.RepeatedScalarFieldContainer[str]
    count: int
    def __init__(self, accelerators: _Optional[_Iterable[str]] = ..., count: _Optional[int] = ...) -> None: ...

class LimitsSpec(_message.Message):
    __slots__ = ("max_runtime_seconds",)
    MAX_RUNTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    max_runtime_seconds: int
    def __init__(self, max_runtime_seconds: _Optional[int] = ...) -> None: ...

class Placement(_message.Message):
    __slots__ = ("pool", "accelerator", "devices")
    POOL_FIELD_NUMBER: _ClassVar[int]
    ACCELERATOR_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    pool: str
    accelerator: str
    devices: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, pool: _Optional[str] = ..., accelerator: _Optional[str] = ..., devices: _Optional[_Iterable[str]] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("allocated_seconds", "device_seconds", "wall_seconds", "cost_usd")
    ALLOCATED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    DEVICE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    WALL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    allocated_seconds: float
    device_seconds: float
    wall_seconds: float
    cost_usd: str
    def __init__(self, allocated_seconds: _Optional[float] = ..., device_seconds: _Optional[float] = ..., wall_seconds: _Optional[float] = ..., cost_usd: _Optional[str] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("name", "uid", "spec", "state", "state_reason", "create_time", "start_time", "end_time", "attempt", "current_step", "placement", "pending_reason", "queue_position", "usage", "latest_metrics", "creator", "failure", "evaluation")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_REASON_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    CURRENT_STEP_FIELD_NUMBER: _ClassVar[int]
    PLACEMENT_FIELD_NUMBER: _ClassVar[int]
    PENDING_REASON_FIELD_NUMBER: _ClassVar[int]
    QUEUE_POSITION_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    LATEST_METRICS_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    spec: JobSpec
    state: JobState
    state_reason: str
    create_time: _timestamp_pb2.Timestamp
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    attempt: int
    current_step: int
    placement: Placement
    pending_reason: str
    queue_position: int
    usage: Usage
    latest_metrics: MetricPoint
    creator: str
    failure: JobFailure
    evaluation: MetricPoint
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., spec: _Optional[_Union[JobSpec, _Mapping]] = ..., state: _Optional[_Union[JobState, str]] = ..., state_reason: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempt: _Optional[int] = ..., current_step: _Optional[int] = ..., placement: _Optional[_Union[Placement, _Mapping]] = ..., pending_reason: _Optional[str] = ..., queue_position: _Optional[int] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., latest_metrics: _Optional[_Union[MetricPoint, _Mapping]] = ..., creator: _Optional[str] = ..., failure: _Optional[_Union[JobFailure, _Mapping]] = ..., evaluation: _Optional[_Union[MetricPoint, _Mapping]] = ...) -> None: ...

class JobFailure(_message.Message):
    __slots__ = ("reason", "message", "step", "last_log_lines")
    class Reason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        REASON_UNSPECIFIED: _ClassVar[JobFailure.Reason]
        INVALID_DATA: _ClassVar[JobFailure.Reason]
        UNSUPPORTED_MODEL: _ClassVar[JobFailure.Reason]
        DIVERGED: _ClassVar[JobFailure.Reason]
        OUT_OF_MEMORY: _ClassVar[JobFailure.Reason]
        MAX_RUNTIME: _ClassVar[JobFailure.Reason]
        NODE_FAILURE: _ClassVar[JobFailure.Reason]
        INTERNAL: _ClassVar[JobFailure.Reason]
    REASON_UNSPECIFIED: JobFailure.Reason
    INVALID_DATA: JobFailure.Reason
    UNSUPPORTED_MODEL: JobFailure.Reason
    DIVERGED: JobFailure.Reason
    OUT_OF_MEMORY: JobFailure.Reason
    MAX_RUNTIME: JobFailure.Reason
    NODE_FAILURE: JobFailure.Reason
    INTERNAL: JobFailure.Reason
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    LAST_LOG_LINES_FIELD_NUMBER: _ClassVar[int]
    reason: JobFailure.Reason
    message: str
    step: int
    last_log_lines: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, reason: _Optional[_Union[JobFailure.Reason, str]] = ..., message: _Optional[str] = ..., step: _Optional[int] = ..., last_log_lines: _Optional[_Iterable[str]] = ...) -> None: ...

class MetricPoint(_message.Message):
    __slots__ = ("step", "loss", "accuracy", "samples_per_second", "device_seconds", "wall_seconds", "modelled_samples_per_second", "loss_function")
    STEP_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    DEVICE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    WALL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MODELLED_SAMPLES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    LOSS_FUNCTION_FIELD_NUMBER: _ClassVar[int]
    step: int
    loss: float
    accuracy: float
    samples_per_second: float
    device_seconds: float
    wall_seconds: float
    modelled_samples_per_second: float
    loss_function: str
    def __init__(self, step: _Optional[int] = ..., loss: _Optional[float] = ..., accuracy: _Optional[float] = ..., samples_per_second: _Optional[float] = ..., device_seconds: _Optional[float] = ..., wall_seconds: _Optional[float] = ..., modelled_samples_per_second: _Optional[float] = ..., loss_function: _Optional[str] = ...) -> None: ...

class StateChange(_message.Message):
    __slots__ = ("from_state", "to_state", "reason")
    FROM_STATE_FIELD_NUMBER: _ClassVar[int]
    TO_STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    from_state: JobState
    to_state: JobState
    reason: str
    def __init__(self, from_state: _Optional[_Union[JobState, str]] = ..., to_state: _Optional[_Union[JobState, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ("id", "job", "time", "state_change", "metric")
    ID_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_CHANGE_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    id: int
    job: str
    time: _timestamp_pb2.Timestamp
    state_change: StateChange
    metric: MetricPoint
    def __init__(self, id: _Optional[int] = ..., job: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state_change: _Optional[_Union[StateChange, _Mapping]] = ..., metric: _Optional[_Union[MetricPoint, _Mapping]] = ...) -> None: ...

class CreateJobRequest(_message.Message):
    __slots__ = ("parent", "job_spec", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    JOB_SPEC_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    job_spec: JobSpec
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., job_spec: _Optional[_Union[JobSpec, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "filter")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    filter: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_page_token")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    next_page_token: str
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("name", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class WatchJobRequest(_message.Message):
    __slots__ = ("name", "after_event_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AFTER_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    after_event_id: int
    def __init__(self, name: _Optional[str] = ..., after_event_id: _Optional[int] = ...) -> None: ...

class StreamJobLogsRequest(_message.Message):
    __slots__ = ("name", "offset", "follow")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    name: str
    offset: int
    follow: bool
    def __init__(self, name: _Optional[str] = ..., offset: _Optional[int] = ..., follow: _Optional[bool] = ...) -> None: ...

class JobLogChunk(_message.Message):
    __slots__ = ("offset", "data", "next_offset")
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    NEXT_OFFSET_FIELD_NUMBER: _ClassVar[int]
    offset: int
    data: bytes
    next_offset: int
    def __init__(self, offset: _Optional[int] = ..., data: _Optional[bytes] = ..., next_offset: _Optional[int] = ...) -> None: ...

class EstimateJobRequest(_message.Message):
    __slots__ = ("job_spec",)
    JOB_SPEC_FIELD_NUMBER: _ClassVar[int]
    job_spec: JobSpec
    def __init__(self, job_spec: _Optional[_Union[JobSpec, _Mapping]] = ...) -> None: ...

class EstimateOption(_message.Message):
    __slots__ = ("accelerator", "count", "step_seconds", "total_seconds", "cost_usd", "cheapest", "fastest", "peak_memory_bytes", "device_memory_bytes", "fits")
    ACCELERATOR_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    STEP_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    CHEAPEST_FIELD_NUMBER: _ClassVar[int]
    FASTEST_FIELD_NUMBER: _ClassVar[int]
    PEAK_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    DEVICE_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    FITS_FIELD_NUMBER: _ClassVar[int]
    accelerator: str
    count: int
    step_seconds: float
    total_seconds: float
    cost_usd: float
    cheapest: bool
    fastest: bool
    peak_memory_bytes: int
    device_memory_bytes: int
    fits: bool
    def __init__(self, accelerator: _Optional[str] = ..., count: _Optional[int] = ..., step_seconds: _Optional[float] = ..., total_seconds: _Optional[float] = ..., cost_usd: _Optional[float] = ..., cheapest: _Optional[bool] = ..., fastest: _Optional[bool] = ..., peak_memory_bytes: _Optional[int] = ..., device_memory_bytes: _Optional[int] = ..., fits: _Optional[bool] = ...) -> None: ...

class EstimateJobResponse(_message.Message):
    __slots__ = ("options",)
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    options: _containers.RepeatedCompositeFieldContainer[EstimateOption]
    def __init__(self, options: _Optional[_Iterable[_Union[EstimateOption, _Mapping]]] = ...) -> None: ...
