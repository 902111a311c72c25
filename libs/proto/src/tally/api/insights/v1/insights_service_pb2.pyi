import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tally.api.catalog.v1 import catalog_service_pb2 as _catalog_service_pb2
from tally.api.common.v1 import money_pb2 as _money_pb2
from tally.api.common.v1 import pagination_pb2 as _pagination_pb2
from tally.api.common.v1 import period_pb2 as _period_pb2
from tally.api.invoicing.v1 import invoicing_service_pb2 as _invoicing_service_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AnomalyKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ANOMALY_KIND_UNSPECIFIED: _ClassVar[AnomalyKind]
    ANOMALY_KIND_SPIKE: _ClassVar[AnomalyKind]
    ANOMALY_KIND_DROP: _ClassVar[AnomalyKind]
    ANOMALY_KIND_LEVEL_SHIFT: _ClassVar[AnomalyKind]
    ANOMALY_KIND_SILENCE: _ClassVar[AnomalyKind]

class AnomalySeverity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ANOMALY_SEVERITY_UNSPECIFIED: _ClassVar[AnomalySeverity]
    ANOMALY_SEVERITY_LOW: _ClassVar[AnomalySeverity]
    ANOMALY_SEVERITY_MEDIUM: _ClassVar[AnomalySeverity]
    ANOMALY_SEVERITY_HIGH: _ClassVar[AnomalySeverity]
    ANOMALY_SEVERITY_CRITICAL: _ClassVar[AnomalySeverity]

class Granularity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GRANULARITY_UNSPECIFIED: _ClassVar[Granularity]
    GRANULARITY_HOURLY: _ClassVar[Granularity]
    GRANULARITY_DAILY: _ClassVar[Granularity]

class LeakageKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LEAKAGE_KIND_UNSPECIFIED: _ClassVar[LeakageKind]
    LEAKAGE_KIND_UNKNOWN_CUSTOMER: _ClassVar[LeakageKind]
    LEAKAGE_KIND_UNPRICED_METER: _ClassVar[LeakageKind]
    LEAKAGE_KIND_IDLE_USAGE_CHARGE: _ClassVar[LeakageKind]
    LEAKAGE_KIND_SILENT_PRODUCER: _ClassVar[LeakageKind]
    LEAKAGE_KIND_REJECTIONS_RISING: _ClassVar[LeakageKind]
    LEAKAGE_KIND_METERING_CONFLICT: _ClassVar[LeakageKind]
    LEAKAGE_KIND_USAGE_MOVED_AFTER_FINALIZATION: _ClassVar[LeakageKind]
ANOMALY_KIND_UNSPECIFIED: AnomalyKind
ANOMALY_KIND_SPIKE: AnomalyKind
ANOMALY_KIND_DROP: AnomalyKind
ANOMALY_KIND_LEVEL_SHIFT: AnomalyKind
ANOMALY_KIND_SILENCE: AnomalyKind
ANOMALY_SEVERITY_UNSPECIFIED: AnomalySeverity
ANOMALY_SEVERITY_LOW: AnomalySeverity
ANOMALY_SEVERITY_MEDIUM: AnomalySeverity
ANOMALY_SEVERITY_HIGH: AnomalySeverity
ANOMALY_SEVERITY_CRITICAL: AnomalySeverity
GRANULARITY_UNSPECIFIED: Granularity
GRANULARITY_HOURLY: Granularity
GRANULARITY_DAILY: Granularity
LEAKAGE_KIND_UNSPECIFIED: LeakageKind
LEAKAGE_KIND_UNKNOWN_CUSTOMER: LeakageKind
LEAKAGE_KIND_UNPRICED_METER: LeakageKind
LEAKAGE_KIND_IDLE_USAGE_CHARGE: LeakageKind
LEAKAGE_KIND_SILENT_PRODUCER: LeakageKind
LEAKAGE_KIND_REJECTIONS_RISING: LeakageKind
LEAKAGE_KIND_METERING_CONFLICT: LeakageKind
LEAKAGE_KIND_USAGE_MOVED_AFTER_FINALIZATION: LeakageKind

class Anomaly(_message.Message):
    __slots__ = ("id", "customer", "meter_id", "meter_key", "granularity", "kind", "severity", "period", "observed", "expected", "expected_low", "expected_high", "score", "reason", "detected_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    METER_ID_FIELD_NUMBER: _ClassVar[int]
    METER_KEY_FIELD_NUMBER: _ClassVar[int]
    GRANULARITY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_LOW_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_HIGH_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DETECTED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    customer: str
    meter_id: str
    meter_key: str
    granularity: Granularity
    kind: AnomalyKind
    severity: AnomalySeverity
    period: _period_pb2.Period
    observed: str
    expected: str
    expected_low: str
    expected_high: str
    score: float
    reason: str
    detected_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., customer: _Optional[str] = ..., meter_id: _Optional[str] = ..., meter_key: _Optional[str] = ..., granularity: _Optional[_Union[Granularity, str]] = ..., kind: _Optional[_Union[AnomalyKind, str]] = ..., severity: _Optional[_Union[AnomalySeverity, str]] = ..., period: _Optional[_Union[_period_pb2.Period, _Mapping]] = ..., observed: _Optional[str] = ..., expected: _Optional[str] = ..., expected_low: _Optional[str] = ..., expected_high: _Optional[str] = ..., score: _Optional[float] = ..., reason: _Optional[str] = ..., detected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListAnomaliesRequest(_message.Message):
    __slots__ = ("customer", "meter_id", "kind", "period", "page")
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    METER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    customer: str
    meter_id: str
    kind: AnomalyKind
    period: _period_pb2.Period
    page: _pagination_pb2.PageRequest
    def __init__(self, customer: _Optional[str] = ..., meter_id: _Optional[str] = ..., kind: _Optional[_Union[AnomalyKind, str]] = ..., period: _Optional[_Union[_period_pb2.Period, _Mapping]] = ..., page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListAnomaliesResponse(_message.Message):
    __slots__ = ("anomalies", "page")
    ANOMALIES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    anomalies: _containers.RepeatedCompositeFieldContainer[Anomaly]
    page: _pagination_pb2.PageResponse
    def __init__(self, anomalies: _Optional[_Iterable[_Union[Anomaly, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class ScanUsageRequest(_message.Message):
    __slots__ = ("as_of",)
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ScanUsageResponse(_message.Message):
    __slots__ = ("series_scanned", "points_judged", "anomalies_changed")
    SERIES_SCANNED_FIELD_NUMBER: _ClassVar[int]
    POINTS_JUDGED_FIELD_NUMBER: _ClassVar[int]
    ANOMALIES_CHANGED_FIELD_NUMBER: _ClassVar[int]
    series_scanned: int
    points_judged: int
    anomalies_changed: int
    def __init__(self, series_scanned: _Optional[int] = ..., points_judged: _Optional[int] = ..., anomalies_changed: _Optional[int] = ...) -> None: ...

class LeakageFinding(_message.Message):
    __slots__ = ("kind", "customer", "meter_id", "subscription_id", "invoice_id", "producer_id", "quantity", "amount_at_stake", "description", "since")
    KIND_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    METER_ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCER_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_AT_STAKE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    kind: LeakageKind
    customer: str
    meter_id: str
    subscription_id: str
    invoice_id: str
    producer_id: str
    quantity: str
    amount_at_stake: _money_pb2.Money
    description: str
    since: _timestamp_pb2.Timestamp
    def __init__(self, kind: _Optional[_Union[LeakageKind, str]] = ..., customer: _Optional[str] = ..., meter_id: _Optional[str] = ..., subscription_id: _Optional[str] = ..., invoice_id: _Optional[str] = ..., producer_id: _Optional[str] = ..., quantity: _Optional[str] = ..., amount_at_stake: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., description: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetLeakageReportRequest(_message.Message):
    __slots__ = ("idle_days", "as_of")
    IDLE_DAYS_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    idle_days: int
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, idle_days: _Optional[int] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetLeakageReportResponse(_message.Message):
    __slots__ = ("findings", "generated_at", "skipped_checks")
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    GENERATED_AT_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_CHECKS_FIELD_NUMBER: _ClassVar[int]
    findings: _containers.RepeatedCompositeFieldContainer[LeakageFinding]
    generated_at: _timestamp_pb2.Timestamp
    skipped_checks: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, findings: _Optional[_Iterable[_Union[LeakageFinding, _Mapping]]] = ..., generated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., skipped_checks: _Optional[_Iterable[str]] = ...) -> None: ...

class ForecastAmount(_message.Message):
    __slots__ = ("expected", "low", "high")
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    expected: _money_pb2.Money
    low: _money_pb2.Money
    high: _money_pb2.Money
    def __init__(self, expected: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., low: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., high: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class ChargeForecast(_message.Message):
    __slots__ = ("charge_id", "meter_id", "quantity_so_far", "quantity_expected", "quantity_low", "quantity_high", "amount")
    CHARGE_ID_FIELD_NUMBER: _ClassVar[int]
    METER_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_SO_FAR_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_EXPECTED_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_LOW_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_HIGH_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    charge_id: str
    meter_id: str
    quantity_so_far: str
    quantity_expected: str
    quantity_low: str
    quantity_high: str
    amount: ForecastAmount
    def __init__(self, charge_id: _Optional[str] = ..., meter_id: _Optional[str] = ..., quantity_so_far: _Optional[str] = ..., quantity_expected: _Optional[str] = ..., quantity_low: _Optional[str] = ..., quantity_high: _Optional[str] = ..., amount: _Optional[_Union[ForecastAmount, _Mapping]] = ...) -> None: ...

class ForecastInvoiceRequest(_message.Message):
    __slots__ = ("subscription_id",)
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    def __init__(self, subscription_id: _Optional[str] = ...) -> None: ...

class ForecastInvoiceResponse(_message.Message):
    __slots__ = ("preview", "total", "subtotal", "charges", "credit_runs_out_at", "credit_balance")
    PREVIEW_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    SUBTOTAL_FIELD_NUMBER: _ClassVar[int]
    CHARGES_FIELD_NUMBER: _ClassVar[int]
    CREDIT_RUNS_OUT_AT_FIELD_NUMBER: _ClassVar[int]
    CREDIT_BALANCE_FIELD_NUMBER: _ClassVar[int]
    preview: _invoicing_service_pb2.Invoice
    total: ForecastAmount
    subtotal: ForecastAmount
    charges: _containers.RepeatedCompositeFieldContainer[ChargeForecast]
    credit_runs_out_at: _timestamp_pb2.Timestamp
    credit_balance: _money_pb2.Money
    def __init__(self, preview: _Optional[_Union[_invoicing_service_pb2.Invoice, _Mapping]] = ..., total: _Optional[_Union[ForecastAmount, _Mapping]] = ..., subtotal: _Optional[_Union[ForecastAmount, _Mapping]] = ..., charges: _Optional[_Iterable[_Union[ChargeForecast, _Mapping]]] = ..., credit_runs_out_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., credit_balance: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class ForecastRevenueRequest(_message.Message):
    __slots__ = ("customer_id", "months")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    MONTHS_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    months: int
    def __init__(self, customer_id: _Optional[str] = ..., months: _Optional[int] = ...) -> None: ...

class MonthlyRevenue(_message.Message):
    __slots__ = ("month", "revenue")
    MONTH_FIELD_NUMBER: _ClassVar[int]
    REVENUE_FIELD_NUMBER: _ClassVar[int]
    month: _period_pb2.Period
    revenue: ForecastAmount
    def __init__(self, month: _Optional[_Union[_period_pb2.Period, _Mapping]] = ..., revenue: _Optional[_Union[ForecastAmount, _Mapping]] = ...) -> None: ...

class CustomerRevenueForecast(_message.Message):
    __slots__ = ("customer_id", "customer", "months")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    MONTHS_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    customer: str
    months: _containers.RepeatedCompositeFieldContainer[MonthlyRevenue]
    def __init__(self, customer_id: _Optional[str] = ..., customer: _Optional[str] = ..., months: _Optional[_Iterable[_Union[MonthlyRevenue, _Mapping]]] = ...) -> None: ...

class RevenueTotal(_message.Message):
    __slots__ = ("month", "expected")
    MONTH_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    month: _period_pb2.Period
    expected: _containers.RepeatedCompositeFieldContainer[_money_pb2.Money]
    def __init__(self, month: _Optional[_Union[_period_pb2.Period, _Mapping]] = ..., expected: _Optional[_Iterable[_Union[_money_pb2.Money, _Mapping]]] = ...) -> None: ...

class ForecastRevenueResponse(_message.Message):
    __slots__ = ("customers", "totals", "skipped")
    CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    customers: _containers.RepeatedCompositeFieldContainer[CustomerRevenueForecast]
    totals: _containers.RepeatedCompositeFieldContainer[RevenueTotal]
    skipped: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, customers: _Optional[_Iterable[_Union[CustomerRevenueForecast, _Mapping]]] = ..., totals: _Optional[_Iterable[_Union[RevenueTotal, _Mapping]]] = ..., skipped: _Optional[_Iterable[str]] = ...) -> None: ...

class ChargeChange(_message.Message):
    __slots__ = ("charge_id", "price", "scale_percent")
    CHARGE_ID_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    SCALE_PERCENT_FIELD_NUMBER: _ClassVar[int]
    charge_id: str
    price: _catalog_service_pb2.Price
    scale_percent: str
    def __init__(self, charge_id: _Optional[str] = ..., price: _Optional[_Union[_catalog_service_pb2.Price, _Mapping]] = ..., scale_percent: _Optional[str] = ...) -> None: ...

class SimulatePricingRequest(_message.Message):
    __slots__ = ("period_containing", "customer_ids", "changes", "candidate_plan_version_id")
    PERIOD_CONTAINING_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_IDS_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_PLAN_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    period_containing: _timestamp_pb2.Timestamp
    customer_ids: _containers.RepeatedScalarFieldContainer[str]
    changes: _containers.RepeatedCompositeFieldContainer[ChargeChange]
    candidate_plan_version_id: str
    def __init__(self, period_containing: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., customer_ids: _Optional[_Iterable[str]] = ..., changes: _Optional[_Iterable[_Union[ChargeChange, _Mapping]]] = ..., candidate_plan_version_id: _Optional[str] = ...) -> None: ...

class SimulatedSubscription(_message.Message):
    __slots__ = ("subscription_id", "customer_id", "customer", "period", "current", "candidate", "delta", "delta_percent", "invoiced_usage", "current_usage", "invoice_id")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    DELTA_PERCENT_FIELD_NUMBER: _ClassVar[int]
    INVOICED_USAGE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_USAGE_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    customer_id: str
    customer: str
    period: _period_pb2.Period
    current: _money_pb2.Money
    candidate: _money_pb2.Money
    delta: _money_pb2.Money
    delta_percent: str
    invoiced_usage: _money_pb2.Money
    current_usage: _money_pb2.Money
    invoice_id: str
    def __init__(self, subscription_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., customer: _Optional[str] = ..., period: _Optional[_Union[_period_pb2.Period, _Mapping]] = ..., current: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., candidate: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., delta: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., delta_percent: _Optional[str] = ..., invoiced_usage: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., current_usage: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., invoice_id: _Optional[str] = ...) -> None: ...

class DeltaDistribution(_message.Message):
    __slots__ = ("min_percent", "p10_percent", "median_percent", "p90_percent", "max_percent")
    MIN_PERCENT_FIELD_NUMBER: _ClassVar[int]
    P10_PERCENT_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_PERCENT_FIELD_NUMBER: _ClassVar[int]
    P90_PERCENT_FIELD_NUMBER: _ClassVar[int]
    MAX_PERCENT_FIELD_NUMBER: _ClassVar[int]
    min_percent: str
    p10_percent: str
    median_percent: str
    p90_percent: str
    max_percent: str
    def __init__(self, min_percent: _Optional[str] = ..., p10_percent: _Optional[str] = ..., median_percent: _Optional[str] = ..., p90_percent: _Optional[str] = ..., max_percent: _Optional[str] = ...) -> None: ...

class SimulatePricingResponse(_message.Message):
    __slots__ = ("subscriptions", "current_totals", "candidate_totals", "delta_totals", "paying_more", "paying_less", "unchanged", "distribution", "skipped")
    SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_TOTALS_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_TOTALS_FIELD_NUMBER: _ClassVar[int]
    DELTA_TOTALS_FIELD_NUMBER: _ClassVar[int]
    PAYING_MORE_FIELD_NUMBER: _ClassVar[int]
    PAYING_LESS_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    subscriptions: _containers.RepeatedCompositeFieldContainer[SimulatedSubscription]
    current_totals: _containers.RepeatedCompositeFieldContainer[_money_pb2.Money]
    candidate_totals: _containers.RepeatedCompositeFieldContainer[_money_pb2.Money]
    delta_totals: _containers.RepeatedCompositeFieldContainer[_money_pb2.Money]
    paying_more: int
    paying_less: int
    unchanged: int
    distribution: DeltaDistribution
    skipped: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, subscriptions: _Optional[_Iterable[_Union[SimulatedSubscription, _Mapping]]] = ..., current_totals: _Optional[_Iterable[_Union[_money_pb2.Money, _Mapping]]] = ..., candidate_totals: _Optional[_Iterable[_Union[_money_pb2.Money, _Mapping]]] = ..., delta_totals: _Optional[_Iterable[_Union[_money_pb2.Money, _Mapping]]] = ..., paying_more: _Optional[int] = ..., paying_less: _Optional[int] = ..., unchanged: _Optional[int] = ..., distribution: _Optional[_Union[DeltaDistribution, _Mapping]] = ..., skipped: _Optional[_Iterable[str]] = ...) -> None: ...
