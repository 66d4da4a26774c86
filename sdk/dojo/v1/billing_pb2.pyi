import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Budget(_message.Message):
    __slots__ = ("organization", "monthly_usd", "alert_percents", "hard_cap", "month", "spent_usd", "remaining_usd", "cap_reached", "alerted_percents", "update_time", "updated_by")
    ORGANIZATION_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_USD_FIELD_NUMBER: _ClassVar[int]
    ALERT_PERCENTS_FIELD_NUMBER: _ClassVar[int]
    HARD_CAP_FIELD_NUMBER: _ClassVar[int]
    MONTH_FIELD_NUMBER: _ClassVar[int]
    SPENT_USD_FIELD_NUMBER: _ClassVar[int]
    REMAINING_USD_FIELD_NUMBER: _ClassVar[int]
    CAP_REACHED_FIELD_NUMBER: _ClassVar[int]
    ALERTED_PERCENTS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    organization: str
    monthly_usd: str
    alert_percents: _containers.RepeatedScalarFieldContainer[int]
    hard_cap: bool
    month: str
    spent_usd: str
    remaining_usd: str
    cap_reached: bool
    alerted_percents: _containers.RepeatedScalarFieldContainer[int]
    update_time: _timestamp_pb2.Timestamp
    updated_by: str
    def __init__(self, organization: _Optional[str] = ..., monthly_usd: _Optional[str] = ..., alert_percents: _Optional[_Iterable[int]] = ..., hard_cap: _Optional[bool] = ..., month: _Optional[str] = ..., spent_usd: _Optional[str] = ..., remaining_usd: _Optional[str] = ..., cap_reached: _Optional[bool] = ..., alerted_percents: _Optional[_Iterable[int]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_by: _Optional[str] = ...) -> None: ...

class GetBudgetRequest(_message.Message):
    __slots__ = ("parent",)
    PARENT_FIELD_NUMBER: _ClassVar[int]
    parent: str
    def __init__(self, parent: _Optional[str] = ...) -> None: ...

class SetBudgetRequest(_message.Message):
    __slots__ = ("parent", "monthly_usd", "alert_percents", "no_hard_cap")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_USD_FIELD_NUMBER: _ClassVar[int]
    ALERT_PERCENTS_FIELD_NUMBER: _ClassVar[int]
    NO_HARD_CAP_FIELD_NUMBER: _ClassVar[int]
    parent: str
    monthly_usd: str
    alert_percents: _containers.RepeatedScalarFieldContainer[int]
    no_hard_cap: bool
    def __init__(self, parent: _Optional[str] = ..., monthly_usd: _Optional[str] = ..., alert_percents: _Optional[_Iterable[int]] = ..., no_hard_cap: _Optional[bool] = ...) -> None: ...

class Price(_message.Message):
    __slots__ = ("pool", "effective_time", "on_demand_usd_per_device_second", "preemptible_usd_per_device_second", "hardware", "set_by", "reason")
    POOL_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    ON_DEMAND_USD_PER_DEVICE_SECOND_FIELD_NUMBER: _ClassVar[int]
    PREEMPTIBLE_USD_PER_DEVICE_SECOND_FIELD_NUMBER: _ClassVar[int]
    HARDWARE_FIELD_NUMBER: _ClassVar[int]
    SET_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    pool: str
    effective_time: _timestamp_pb2.Timestamp
    on_demand_usd_per_device_second: str
    preemptible_usd_per_device_second: str
    hardware: str
    set_by: str
    reason: str
    def __init__(self, pool: _Optional[str] = ..., effective_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., on_demand_usd_per_device_second: _Optional[str] = ..., preemptible_usd_per_device_second: _Optional[str] = ..., hardware: _Optional[str] = ..., set_by: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ListPricesRequest(_message.Message):
    __slots__ = ("history", "pool")
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    history: bool
    pool: str
    def __init__(self, history: _Optional[bool] = ..., pool: _Optional[str] = ...) -> None: ...

class ListPricesResponse(_message.Message):
    __slots__ = ("prices",)
    PRICES_FIELD_NUMBER: _ClassVar[int]
    prices: _containers.RepeatedCompositeFieldContainer[Price]
    def __init__(self, prices: _Optional[_Iterable[_Union[Price, _Mapping]]] = ...) -> None: ...

class SetPriceRequest(_message.Message):
    __slots__ = ("price", "reason")
    PRICE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    price: Price
    reason: str
    def __init__(self, price: _Optional[_Union[Price, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class GetUsageRequest(_message.Message):
    __slots__ = ("parent", "month")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    MONTH_FIELD_NUMBER: _ClassVar[int]
    parent: str
    month: str
    def __init__(self, parent: _Optional[str] = ..., month: _Optional[str] = ...) -> None: ...

class PoolDay(_message.Message):
    __slots__ = ("pool", "usd_per_day", "total_usd")
    POOL_FIELD_NUMBER: _ClassVar[int]
    USD_PER_DAY_FIELD_NUMBER: _ClassVar[int]
    TOTAL_USD_FIELD_NUMBER: _ClassVar[int]
    pool: str
    usd_per_day: _containers.RepeatedScalarFieldContainer[str]
    total_usd: str
    def __init__(self, pool: _Optional[str] = ..., usd_per_day: _Optional[_Iterable[str]] = ..., total_usd: _Optional[str] = ...) -> None: ...

class JobCost(_message.Message):
    __slots__ = ("job", "job_name", "amount_usd", "device_seconds")
    JOB_FIELD_NUMBER: _ClassVar[int]
    JOB_NAME_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_USD_FIELD_NUMBER: _ClassVar[int]
    DEVICE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    job: str
    job_name: str
    amount_usd: str
    device_seconds: str
    def __init__(self, job: _Optional[str] = ..., job_name: _Optional[str] = ..., amount_usd: _Optional[str] = ..., device_seconds: _Optional[str] = ...) -> None: ...

class MonthUsage(_message.Message):
    __slots__ = ("month", "total_usd", "forecast_usd", "pools", "top_jobs", "invoice_status")
    MONTH_FIELD_NUMBER: _ClassVar[int]
    TOTAL_USD_FIELD_NUMBER: _ClassVar[int]
    FORECAST_USD_FIELD_NUMBER: _ClassVar[int]
    POOLS_FIELD_NUMBER: _ClassVar[int]
    TOP_JOBS_FIELD_NUMBER: _ClassVar[int]
    INVOICE_STATUS_FIELD_NUMBER: _ClassVar[int]
    month: str
    total_usd: str
    forecast_usd: str
    pools: _containers.RepeatedCompositeFieldContainer[PoolDay]
    top_jobs: _containers.RepeatedCompositeFieldContainer[JobCost]
    invoice_status: str
    def __init__(self, month: _Optional[str] = ..., total_usd: _Optional[str] = ..., forecast_usd: _Optional[str] = ..., pools: _Optional[_Iterable[_Union[PoolDay, _Mapping]]] = ..., top_jobs: _Optional[_Iterable[_Union[JobCost, _Mapping]]] = ..., invoice_status: _Optional[str] = ...) -> None: ...

class ListInvoicesRequest(_message.Message):
    __slots__ = ("parent",)
    PARENT_FIELD_NUMBER: _ClassVar[int]
    parent: str
    def __init__(self, parent: _Optional[str] = ...) -> None: ...

class ListInvoicesResponse(_message.Message):
    __slots__ = ("invoices",)
    INVOICES_FIELD_NUMBER: _ClassVar[int]
    invoices: _containers.RepeatedCompositeFieldContainer[Invoice]
    def __init__(self, invoices: _Optional[_Iterable[_Union[Invoice, _Mapping]]] = ...) -> None: ...

class GetInvoiceRequest(_message.Message):
    __slots__ = ("parent", "month")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    MONTH_FIELD_NUMBER: _ClassVar[int]
    parent: str
    month: str
    def __init__(self, parent: _Optional[str] = ..., month: _Optional[str] = ...) -> None: ...

class InvoiceLine(_message.Message):
    __slots__ = ("position", "kind", "job", "pool", "description", "quantity", "unit", "rate_usd", "amount_usd", "reason", "created_by")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    RATE_USD_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_USD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    position: int
    kind: str
    job: str
    pool: str
    description: str
    quantity: str
    unit: str
    rate_usd: str
    amount_usd: str
    reason: str
    created_by: str
    def __init__(self, position: _Optional[int] = ..., kind: _Optional[str] = ..., job: _Optional[str] = ..., pool: _Optional[str] = ..., description: _Optional[str] = ..., quantity: _Optional[str] = ..., unit: _Optional[str] = ..., rate_usd: _Optional[str] = ..., amount_usd: _Optional[str] = ..., reason: _Optional[str] = ..., created_by: _Optional[str] = ...) -> None: ...

class Invoice(_message.Message):
    __slots__ = ("name", "month", "status", "number", "total_usd", "currency", "lines", "finalize_time", "update_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MONTH_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    TOTAL_USD_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    FINALIZE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    month: str
    status: str
    number: str
    total_usd: str
    currency: str
    lines: _containers.RepeatedCompositeFieldContainer[InvoiceLine]
    finalize_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., month: _Optional[str] = ..., status: _Optional[str] = ..., number: _Optional[str] = ..., total_usd: _Optional[str] = ..., currency: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[InvoiceLine, _Mapping]]] = ..., finalize_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class InvoiceExport(_message.Message):
    __slots__ = ("filename", "csv")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    CSV_FIELD_NUMBER: _ClassVar[int]
    filename: str
    csv: str
    def __init__(self, filename: _Optional[str] = ..., csv: _Optional[str] = ...) -> None: ...

class AdjustInvoiceRequest(_message.Message):
    __slots__ = ("organization", "month", "amount_usd", "reason")
    ORGANIZATION_FIELD_NUMBER: _ClassVar[int]
    MONTH_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_USD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    organization: str
    month: str
    amount_usd: str
    reason: str
    def __init__(self, organization: _Optional[str] = ..., month: _Optional[str] = ..., amount_usd: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...
