"""Buckets add in 100 digits: values of the numeric domain (30 significant digits) and value × timestamp
products are never rounded by Python's default 28-digit context."""

from decimal import Decimal, localcontext

from tally.metering.aggregation import Bucket, result
from tally.metering.domain import Aggregation

BIG = Decimal("123456789012345678901.123456789")  # 30 significant digits, the domain's most


def test_a_sum_of_thirty_digit_values_is_exact():
    bucket = Bucket()
    bucket.add_value(BIG, 1_000, "a")
    bucket.add_value(Decimal("0.000000001"), 2_000, "b")
    assert bucket.sum == Decimal("123456789012345678901.123456790")
    assert Decimal(28) < len(bucket.sum.as_tuple().digits)
    assert result(Aggregation.SUM, bucket, start_ms=0, end_ms=3_600_000) == Decimal(
        "123456789012345678901.123456790"
    )


def test_value_times_timestamp_and_merges_are_exact():
    one, other = Bucket(), Bucket()
    one.add_value(BIG, 1_733_000_000_123, "a")
    other.add_value(Decimal(1), 1_733_000_000_456, "b")
    one.merge(other)
    with localcontext(prec=100):
        expected = BIG * Decimal("1733000000.123") + Decimal("1733000000.456")
        expected_sum = BIG + 1
    assert len(expected.as_tuple().digits) > 28
    assert one.weighted_ts == expected
    assert one.sum == expected_sum
