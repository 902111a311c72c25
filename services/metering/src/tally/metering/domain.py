"""Meter definitions: what a valid meter is (pure; aggregation semantics follow docs/pricing.md)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from tally.domain.errors import FieldViolation, InvalidArgument

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]{0,62}$")


class Aggregation(StrEnum):
    COUNT = "COUNT"
    SUM = "SUM"
    MAX = "MAX"
    MIN = "MIN"
    AVG = "AVG"
    LATEST = "LATEST"
    UNIQUE_COUNT = "UNIQUE_COUNT"
    WEIGHTED_SUM = "WEIGHTED_SUM"


class FilterOperator(StrEnum):
    EQUALS = "EQUALS"
    NOT_EQUALS = "NOT_EQUALS"
    IN = "IN"
    EXISTS = "EXISTS"


@dataclass(frozen=True)
class PropertyFilter:
    """Selects events by one property."""

    property: str
    operator: FilterOperator
    values: tuple[str, ...] = ()

    def matches(self, properties: Mapping[str, str]) -> bool:
        value = properties.get(self.property)
        if self.operator is FilterOperator.EXISTS:
            return value is not None
        if self.operator is FilterOperator.EQUALS:
            return value == self.values[0]
        if self.operator is FilterOperator.NOT_EQUALS:
            return value != self.values[0]
        return value in self.values


@dataclass(frozen=True)
class MeterDefinition:
    """How events become a quantity: which events, which property, which aggregation, which groups."""

    key: str
    name: str
    event_type: str
    aggregation: Aggregation
    value_property: str = ""
    filters: tuple[PropertyFilter, ...] = ()
    group_by: tuple[str, ...] = ()

    def selects(self, event_type: str, properties: Mapping[str, str]) -> bool:
        return event_type == self.event_type and all(f.matches(properties) for f in self.filters)


def validate_meter(meter: MeterDefinition, *, prefix: str = "meter") -> None:
    """Every problem with ``meter`` at once, each naming its field."""
    problems: list[FieldViolation] = []
    if not KEY_PATTERN.match(meter.key):
        problems.append(
            FieldViolation(
                f"{prefix}.key", "must be 1-63 characters: lower-case letters, digits, '_', '.', '-'"
            )
        )
    if not meter.name.strip():
        problems.append(FieldViolation(f"{prefix}.name", "is required"))
    if not meter.event_type:
        problems.append(FieldViolation(f"{prefix}.event_type", "is required"))
    needs_value = meter.aggregation is not Aggregation.COUNT
    if needs_value and not meter.value_property:
        problems.append(
            FieldViolation(f"{prefix}.value_property", f"is required for {meter.aggregation.value} meters")
        )
    for index, rule in enumerate(meter.filters):
        field = f"{prefix}.filters[{index}]"
        if not rule.property:
            problems.append(FieldViolation(f"{field}.property", "is required"))
        if rule.operator in (FilterOperator.EQUALS, FilterOperator.NOT_EQUALS) and len(rule.values) != 1:
            problems.append(
                FieldViolation(f"{field}.values", f"{rule.operator.value} takes exactly one value")
            )
        if rule.operator is FilterOperator.IN and not rule.values:
            problems.append(FieldViolation(f"{field}.values", "IN needs at least one value"))
    if len(set(meter.group_by)) != len(meter.group_by) or any(not g for g in meter.group_by):
        problems.append(FieldViolation(f"{prefix}.group_by", "must be distinct, non-empty property names"))
    if problems:
        raise InvalidArgument(problems)


MUTABLE_FIELDS = ("name", "event_type", "aggregation", "value_property", "filters", "group_by")
"""Meter fields UpdateMeter may change; every one but ``name`` changes which events count or how."""


def update_fields(paths: Sequence[str]) -> tuple[str, ...]:
    """The fields an update mask names (all mutable fields when empty); ``key`` and unknown paths are refused."""
    if not paths:
        return MUTABLE_FIELDS
    problems = []
    for path in paths:
        if path == "key":
            problems.append(FieldViolation("update_mask", "key is immutable"))
        elif path not in MUTABLE_FIELDS:
            problems.append(
                FieldViolation(
                    "update_mask", f"unknown field {path!r}: expected one of {', '.join(MUTABLE_FIELDS)}"
                )
            )
    if problems:
        raise InvalidArgument(problems)
    return tuple(dict.fromkeys(paths))


@dataclass(frozen=True)
class MeterChange:
    """New values for some of a meter's mutable fields; a field left None keeps its value."""

    name: str | None = None
    event_type: str | None = None
    aggregation: Aggregation | None = None
    value_property: str | None = None
    filters: tuple[PropertyFilter, ...] | None = None
    group_by: tuple[str, ...] | None = None

    def applied_to(self, meter: MeterDefinition) -> MeterDefinition:
        """``meter`` with these changes, validated as a whole."""
        changes = {name: getattr(self, name) for name in MUTABLE_FIELDS if getattr(self, name) is not None}
        updated = replace(meter, **changes)
        validate_meter(updated)
        return updated


def restates_usage(before: MeterDefinition, after: MeterDefinition) -> bool:
    """True when ``after`` selects, reads or groups events differently, so its rollups must be rebuilt."""
    return replace(before, name=after.name) != after
