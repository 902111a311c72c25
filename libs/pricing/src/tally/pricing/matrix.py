"""Matrix prices: a unit price per combination of one or two dimension values, a default for the rest."""

from __future__ import annotations

from decimal import Decimal

from tally.domain.errors import FieldViolation, InvalidArgument
from tally.pricing.models import ZERO, BreakdownLine, MatrixPrice, MatrixUsage


class MatrixRater:
    """Prices each usage entry at its cell's unit price, or the default price when no cell matches."""

    __slots__ = ("cells", "price")

    def __init__(self, price: MatrixPrice) -> None:
        self.price = price
        self.cells: dict[tuple[str, ...], Decimal] = {
            tuple(cell.dimension_values): cell.unit_price for cell in price.cells
        }

    def rate(self, usage: MatrixUsage) -> tuple[Decimal, tuple[BreakdownLine, ...]]:
        dimensions = self.price.dimensions
        wrong = [
            FieldViolation(
                f"usage.matrix_usage.entries[{index}].dimension_values",
                f"must have one value per dimension {list(dimensions)}, got {list(entry.dimension_values)}",
            )
            for index, entry in enumerate(usage.entries)
            if len(entry.dimension_values) != len(dimensions)
        ]
        if wrong:
            raise InvalidArgument(wrong)
        total = ZERO
        lines: list[BreakdownLine] = []
        for entry in usage.entries:
            values = tuple(entry.dimension_values)
            label = ", ".join(f"{name}={value}" for name, value in zip(dimensions, values, strict=True))
            unit_price = self.cells.get(values)
            if unit_price is None:
                unit_price = self.price.default_unit_price
                label += " (default price)"
            units = entry.quantity if entry.quantity > 0 else ZERO
            subtotal = units * unit_price
            lines.append(BreakdownLine(label, 0, units, unit_price, ZERO, subtotal))
            total += subtotal
        return total, tuple(lines)
