"""Billing runs and previews as use cases, against the fakes of their ports: what each run drafts, finalizes,
numbers, burns, corrects and publishes, to the cent."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from invoicing_fakes import PlanInForce
from invoicing_world import APRIL, CALLS, MARCH, MAY, D, World, graduated, hybrid, lines, of_kind, seats

from tally.api.invoicing.v1 import events_pb2
from tally.domain.errors import FailedPrecondition, InvalidArgument
from tally.invoicing import events
from tally.invoicing.billing.alerts import Controls
from tally.invoicing.billing.drafting import REGULAR, DraftInputs, billing_key, draft_invoice
from tally.invoicing.billing.issuing import InvoiceWriter, Pending, Save
from tally.invoicing.billing.late_usage import LateUsageRecorder
from tally.invoicing.billing.runs import Billing, BillingPolicy
from tally.invoicing.billing.terms import SubscriptionStatus
from tally.invoicing.billing.usage import LateUsage
from tally.invoicing.domain import InvoiceKind, InvoiceStatus
from tally.invoicing.ports import Uncounted
from tally.mesh import streams
from tally.pricing import Charge, PercentagePrice, Period, PlanVersion

USAGE_LINE = "USAGE"


def at(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


async def test_a_month_is_drafted_in_the_grace_re_rated_then_finalized_once_and_published():
    world = World()
    acme = world.customer()
    world.subscribe("sub_1", acme)
    world.calls("acme", *(at(3, day, 12) for day in range(1, 13)))

    first = await world.run(at(4, 1, 0) + timedelta(minutes=30))  # within the hour of grace
    assert (first.evaluated, first.drafted, first.finalized, first.failures) == (1, 1, 0, [])
    [draft] = world.invoices()
    assert (draft.status, draft.number) == (InvoiceStatus.DRAFT, None)
    assert world.finalized_events() == []

    world.calls("acme", at(3, 31, 23))  # late, but within the grace: the draft is re-rated
    done = await world.run(at(4, 1, 2))
    assert (done.drafted, done.finalized) == (1, 1)
    [invoice] = world.invoices()
    assert (invoice.id, invoice.status, invoice.number) == (
        draft.id,
        InvoiceStatus.FINALIZED,
        "INV-2026-000001",
    )
    # 13 calls: 5 × 10.00 + 5 × 8.00 + 3 × 6.00 = 108.00; fee 49.00; tax 20 % per line.
    assert lines(invoice) == [
        ("RECURRING", "Platform fee", "49.00", "9.80"),
        ("USAGE", "API calls", "108.00", "21.60"),
    ]
    usage = invoice.lines[1]
    assert (usage.quantity, usage.meter_id) == (D(13), CALLS)
    assert [(b.tier_index, b.units, b.unit_price) for b in usage.breakdown] == [
        (1, D(5), D("10.00")),
        (2, D(5), D("8.00")),
        (3, D(3), D("6.00")),
    ]
    totals = (invoice.subtotal, invoice.tax, invoice.total, invoice.amount_due)
    assert [str(money.amount) for money in totals] == ["157.00", "31.40", "188.40", "188.40"]
    assert (invoice.issued_at, invoice.due_at) == (at(4, 1, 2), at(5, 1, 2))
    assert invoice.usage_read_at == at(4, 1, 2)
    assert invoice.usage_watermark == 14  # taken before the run read usage: after the 13 calls
    [published] = world.published(streams.INVOICE_FINALIZED)
    assert published[0] == f"invoice-finalized:{invoice.id}"
    finalized = events_pb2.InvoiceFinalized.FromString(published[1]).invoice
    assert (finalized.total.amount, finalized.usage_watermark) == ("188.40", 14)

    again = await world.run(at(4, 1, 3))
    assert (again.drafted, again.finalized) == (0, 0)
    assert len(world.invoices()) == 1 and len(world.finalized_events()) == 1


async def test_credit_from_two_grants_pays_part_of_the_invoice_soonest_expiring_first():
    world = World()
    acme = world.customer()
    world.subscribe("sub_1", acme)
    world.grant("grant_soon", acme, "50.00", expires=at(6, 1))
    world.grant("grant_later", acme, "100.00")
    world.calls("acme", at(3, 2))
    await world.run(at(4, 2))
    [invoice] = world.invoices()
    # fee 49.00 + 1 call 10.00 = 59.00, tax 11.80, total 70.80: 50.00 from the expiring grant, 20.80 from the other.
    assert [str(m.amount) for m in (invoice.total, invoice.credits_applied, invoice.amount_due)] == [
        "70.80",
        "70.80",
        "0.00",
    ]
    assert [(line.charge_id, str(line.amount.amount)) for line in of_kind(invoice, "CREDIT")] == [
        ("grant_soon", "-50.00"),
        ("grant_later", "-20.80"),
    ]
    balance = await world.ledger.balance(acme.id)
    assert str(balance.total.amount) == "79.20"  # type: ignore[union-attr]
    entries = await world.ledger.entries(acme.id, after=None, limit=10)
    assert sorted((e.kind.value, str(e.amount.amount)) for e in entries[:2]) == [
        ("GRANTED", "100.00"),
        ("GRANTED", "50.00"),
    ]
    assert [(e.kind.value, str(e.amount.amount), str(e.grant_balance_after.amount)) for e in entries[2:]] == [
        ("BURNED", "-50.00", "0.00"),
        ("BURNED", "-20.80", "79.20"),
    ]
    assert {e.description for e in entries[2:]} == {"Applied to invoice INV-2026-000001"}


async def test_customers_with_credit_and_without_share_one_gapless_run_of_numbers():
    world = World()
    for n in range(6):
        party = world.customer(f"c{n}")
        world.subscribe(f"sub_{n}", party)
        world.calls(f"c{n}", at(3, 3))
        if n % 2:
            world.grant(f"grant_{n}", party, "5.00")
    done = await world.run(at(4, 2))
    assert (done.evaluated, done.drafted, done.finalized, done.failures) == (6, 6, 6, [])
    assert world.numbers() == [f"INV-2026-{n:06d}" for n in range(1, 7)]
    credited = [i for i in world.invoices() if i.credits_applied.amount]
    assert sorted(i.subscription_id for i in credited) == ["sub_1", "sub_3", "sub_5"]
    assert {str(i.amount_due.amount) for i in credited} == {"65.80"}  # 70.80 less the 5.00 granted
    assert len(world.finalized_events()) == 6
    # The terms of six subscriptions were asked in fewer batch calls than subscriptions.
    assert sum(world.catalog.batch_calls) >= 6 and len(world.catalog.batch_calls) < 6


async def test_a_subscription_catalog_refuses_is_reported_and_the_others_are_billed():
    world = World()
    good, bad = world.customer("good"), world.customer("bad")
    world.subscribe("sub_good", good)
    world.subscribe("sub_bad", bad)
    world.subscribe("sub_later", good, status=SubscriptionStatus.SCHEDULED)
    world.catalog.refusing["sub_bad"] = "plan version not found"
    done = await world.run(at(4, 2))
    assert (done.evaluated, done.finalized) == (2, 1)
    assert done.failures == [("sub_bad", "catalog: plan version not found")]
    assert [i.subscription_id for i in world.invoices()] == ["sub_good"]

    del world.catalog.refusing["sub_bad"]
    retried = await world.run(at(4, 3))
    assert (retried.finalized, retried.failures) == (1, [])
    assert world.numbers() == ["INV-2026-000001", "INV-2026-000002"]


async def test_a_threshold_invoice_is_issued_early_netted_at_period_end_and_alerts_fire_once():
    world = World()
    acme = world.customer()
    world.subscribe("sub_1", acme)
    await world.controls.set(
        Controls("sub_1", "USD", D("60.00"), spend_alerts=(D("50.00"),), usage_alerts=(("calls", D(5)),))
    )
    world.calls("acme", *(at(3, day) for day in range(1, 8)))  # 7 calls = 66.00
    early = await world.run(at(3, 15))
    assert (early.drafted, early.finalized) == (1, 1)
    [threshold] = world.invoices()
    assert threshold.kind is InvoiceKind.THRESHOLD
    assert lines(threshold) == [("USAGE", "API calls", "66.00", "13.20")]
    assert str(threshold.total.amount) == "79.20"
    assert (await world.run(at(3, 16))).drafted == 0  # nothing new accrued; alerts already fired

    world.calls("acme", at(3, 20))
    await world.run(at(4, 2))
    [closing] = [i for i in world.invoices() if i.id != threshold.id]
    # 8 calls = 74.00 and the fee 49.00, less the 66.00 (and its 13.20 tax) already invoiced.
    assert lines(closing) == [
        ("RECURRING", "Platform fee", "49.00", "9.80"),
        ("USAGE", "API calls", "74.00", "14.80"),
        ("ADJUSTMENT", f"Billed on threshold invoice {threshold.number}", "-66.00", "-13.20"),
    ]
    assert closing.lines[2].corrects_invoice_id == threshold.id
    assert [str(m.amount) for m in (closing.subtotal, closing.tax, closing.total)] == [
        "57.00",
        "11.40",
        "68.40",
    ]

    alerts = world.published(streams.ALERT_TRIGGERED)
    assert [(msg_id, headers) for msg_id, _, headers in alerts] == [
        (f"alert:sub_1:spend:50.00:{MARCH.isoformat()}", {"Tally-Alert-Kind": "spend"}),
        (f"alert:sub_1:usage:calls:5:{MARCH.isoformat()}", {"Tally-Alert-Kind": "usage"}),
    ]
    spend = events_pb2.SpendAlertTriggered.FromString(alerts[0][1])
    usage = events_pb2.UsageAlertTriggered.FromString(alerts[1][1])
    assert (spend.threshold.amount, spend.spend.amount, spend.customer_id) == ("50.00", "66.00", acme.id)
    assert (usage.charge_id, usage.threshold, usage.quantity) == ("calls", "5", "7")


async def test_billing_controls_read_back_as_set_and_as_nothing_when_unset():
    world = World()
    controls = Controls("sub_1", "USD", None, spend_alerts=(D("10"),), usage_alerts=())
    assert await world.controls.set(controls) == controls
    assert await world.controls.get("sub_1") == controls
    assert await world.controls.get("sub_2") == Controls("sub_2", "", None, (), ())
    with pytest.raises(InvalidArgument) as missing:
        await world.controls.get("")
    assert [v.field for v in missing.value.violations] == ["subscription_id"]


async def test_a_preview_is_the_invoice_the_open_period_closes_with_the_usage_so_far_and_stores_no_invoice():
    world = World()
    acme = world.customer()
    world.subscribe("sub_1", acme)
    world.grant("grant_1", acme, "5.00")  # made in catalog, never copied by a run: the preview reads it live
    world.calls("acme", at(4, 3), at(4, 10))
    world.now = at(4, 16)  # half of April: the fee is the period's, as the invoice closing April bills it
    preview = await world.previews.preview("sub_1")
    assert (preview.id, preview.number, preview.status) == ("", None, InvoiceStatus.DRAFT)
    assert preview.period.start == APRIL and preview.period.end == MAY
    assert [(kind, amount, tax) for kind, _, amount, tax in lines(preview)] == [
        ("RECURRING", "49.00", "9.80"),
        ("USAGE", "20.00", "4.00"),
        ("CREDIT", "-5.00", "0.00"),
    ]
    assert str(preview.amount_due.amount) == "77.80"
    assert world.invoices() == []

    with pytest.raises(InvalidArgument) as missing:
        await world.previews.preview("")
    world.subscribe("sub_next", acme, start=MAY)
    with pytest.raises(InvalidArgument) as early:
        await world.previews.preview("sub_next")
    assert [v.field for v in missing.value.violations + early.value.violations] == [
        "subscription_id",
        "subscription_id",
    ]


async def test_a_canceled_subscription_previews_its_last_period():
    world = World()
    acme = world.customer()
    world.subscribe("sub_1", acme, cancel_at=at(3, 16))
    world.calls("acme", at(3, 2))
    world.now = at(4, 20)
    preview = await world.previews.preview("sub_1")
    assert (preview.period.start, preview.period.end) == (MARCH, APRIL)
    # The fee prorated to the cancellation: 15 of 31 days of 49.00.
    assert [amount for _, _, amount, _ in lines(preview)] == ["23.71", "10.00"]


async def late_usage(world: World, late_id: str, period: Period, *events: str) -> None:
    recorder = LateUsageRecorder(world.transactions, clock=world.clock)
    usage = LateUsage(late_id, "acme", (CALLS,), events, period)
    assert await recorder.record(usage, cause="ARRIVED_LATE", detected_at=None) is True
    assert await recorder.record(usage, cause="ARRIVED_LATE", detected_at=None) is False  # kept once


async def test_usage_late_after_finalization_is_corrected_on_the_next_invoice_with_its_events():
    world = World()
    world.subscribe("sub_1", world.customer())
    world.calls("acme", *(at(3, day) for day in range(1, 14)))  # 13 calls
    await world.run(at(4, 2))
    [march] = world.invoices()

    world.calls("acme", at(3, 30))
    await late_usage(world, "late-1", Period(MARCH, APRIL), "e-late")
    await world.run(at(5, 2))
    [april] = [i for i in world.invoices() if i.id != march.id]
    assert world.invoice(march.id) == march  # a finalized invoice never changes
    [adjustment] = of_kind(april, "ADJUSTMENT")
    assert (adjustment.corrects_invoice_id, adjustment.event_ids) == (march.id, ("e-late",))
    assert (str(adjustment.amount.amount), str(adjustment.tax.amount)) == ("6.00", "1.20")
    assert adjustment.description == f"Usage corrections for invoice {march.number} (1 events)"
    assert world.transactions.tables.late["late-1"].applied_invoice_id == april.id

    await world.run(at(6, 2))  # applied: May's invoice corrects nothing again
    [may] = [i for i in world.invoices() if i.period.start == MAY]
    assert of_kind(may, "ADJUSTMENT") == []


async def test_late_usage_corrects_every_subscription_whose_invoice_it_changes_even_when_they_close_apart():
    world = World()
    acme = world.customer()
    first = world.subscribe("sub_calendar", acme)
    second = world.subscribe(
        "sub_anniversary", acme, start=at(3, 10), anniversary=True
    )  # months from the 10th
    world.calls("acme", *(at(3, day) for day in range(1, 14)))  # 13 calls in March, 4 of them from the 10th
    await world.run(at(4, 11))  # March (first) and Mar 10 - Apr 10 (second)
    before = {sub.id: world.invoices(sub.id) for sub in (first, second)}
    assert [len(found) for found in before.values()] == [1, 1]

    world.calls("acme", at(3, 30))
    await late_usage(world, "late-1", Period(MARCH, APRIL), "e-late")

    def correction(sub):
        [invoice] = [i for i in world.invoices(sub.id) if i.id != before[sub.id][0].id]
        [adjustment] = of_kind(invoice, "ADJUSTMENT")
        assert (adjustment.corrects_invoice_id, adjustment.event_ids) == (before[sub.id][0].id, ("e-late",))
        return invoice, str(adjustment.amount.amount)

    await world.run(at(5, 2))  # only the calendar subscription closes a period: the late usage stays pending
    assert correction(first)[1] == f"{graduated(14) - graduated(13)}.00"
    assert world.transactions.tables.late["late-1"].applied_invoice_id is None

    await world.run(at(5, 11))  # the anniversary one closes Apr 10 - May 10 and corrects its own invoice
    second_april, amount = correction(second)
    assert amount == f"{graduated(5) - graduated(4)}.00"  # its own 4 calls and the late one
    assert world.transactions.tables.late["late-1"].applied_invoice_id == second_april.id


async def test_a_percentage_charge_is_billed_event_by_event_from_the_meter_values():
    """2 %, fee 0.30, free first 2 events or first 100.00; payments 40, 70, 50, 0 → 2.10."""
    world = World()
    processing = Charge(
        "processing",
        "Payment processing",
        PercentagePrice("USD", D(2), fixed_fee=D("0.30"), free_events=2, free_amount=D("100.00")),
    )
    world.subscribe(
        "sub_1",
        world.customer(),
        PlanInForce(MARCH, PlanVersion("USD", (processing,)), {"processing": "m-pay"}),
    )
    for day, amount in ((2, "40"), (5, "70"), (12, "50"), (20, "0")):
        world.metering.record("acme", "m-pay", at(3, day, 9), value=D(amount))
    world.metering.record("acme", "m-pay", APRIL, value=D(1000))  # April's, not March's
    done = await world.run(at(4, 1, 2))
    assert done.failures == []
    [invoice] = world.invoices()
    assert [(kind, amount, tax) for kind, _, amount, tax in lines(invoice)] == [("USAGE", "2.10", "0.42")]
    assert str(invoice.total.amount) == "2.52"


async def test_a_plan_change_at_the_period_end_bills_the_new_plans_in_advance_fee_on_the_closing_invoice():
    world = World()
    world.subscribe("sub_1", world.customer(), hybrid(), seats(APRIL))
    world.calls("acme", at(3, 3, 12))
    done = await world.run(at(4, 1, 2))
    assert done.failures == []
    [march] = world.invoices()
    assert lines(march) == [
        ("RECURRING", "Platform fee", "49.00", "9.80"),
        ("USAGE", "API calls", "10.00", "2.00"),
        ("RECURRING", "Seats", "30.00", "6.00"),
    ]
    assert march.lines[2].service_period.start == APRIL  # type: ignore[union-attr]
    assert str(march.total.amount) == "106.80"


async def test_an_opening_invoice_bills_fees_in_advance_and_is_never_corrected_with_usage():
    world = World()
    fees_and_calls = PlanInForce(
        MARCH, PlanVersion("USD", (seats(MARCH).plan.charges[0], hybrid().plan.charges[1])), {"calls": CALLS}
    )
    world.subscribe("sub_1", world.customer(), fees_and_calls)
    opened = await world.run(at(3, 1) + timedelta(minutes=30))
    assert (opened.finalized, opened.failures) == (1, [])
    [opening] = world.invoices()
    assert lines(opening) == [("RECURRING", "Seats", "30.00", "6.00")]
    assert opening.usage_read_at is None  # it read no usage, so metering closes nothing on it

    world.calls("acme", *(at(3, day) for day in range(2, 9)))  # 7 calls
    await world.run(at(4, 2))
    world.calls("acme", at(3, 20))
    await late_usage(world, "late-1", Period(MARCH, APRIL), "e-late")
    await world.run(at(5, 2))
    by_month = {i.period.start.month: i for i in world.invoices() if i.id != opening.id}
    assert lines(by_month[3]) == [
        ("USAGE", "API calls", f"{graduated(7)}.00", f"{graduated(7) * 2 // 10}.{graduated(7) * 2 % 10}0"),
        ("RECURRING", "Seats", "30.00", "6.00"),
    ]
    # April: May's seats, no usage, and March's late call once, against the invoice that billed March's usage.
    [adjustment] = of_kind(by_month[4], "ADJUSTMENT")
    assert adjustment.corrects_invoice_id == by_month[3].id
    assert str(adjustment.amount.amount) == f"{graduated(8) - graduated(7)}.00"


def test_a_key_issued_before_is_left_alone_and_its_number_attempt_rolls_back():
    world = World()
    world.subscribe("sub_1", world.customer())
    asyncio.run(world.run(at(4, 1, 2)))
    [invoice] = world.invoices()
    writer = InvoiceWriter(
        world.transactions,
        finalized=events.invoice_finalized,
        payment_terms=timedelta(days=30),
        counters=Uncounted(),
    )
    assert invoice.customer is not None
    pending = Pending(
        billing_key("sub_1", MARCH, REGULAR),
        "sub_1",
        InvoiceKind.REGULAR,
        invoice.customer,
        invoice.customer_id,
        "USD",
    )

    def never(grants):
        raise AssertionError("an issued key is never drafted again")

    series = dict(world.transactions.tables.series)
    again = Save(pending, never, at(4, 1), finalize=True)
    assert writer.save(again, now=at(4, 2)) == (invoice, False)
    assert writer.save_many([again], now=at(4, 2)) == [(invoice, False)]
    assert world.transactions.tables.series == series


def test_a_draft_that_cannot_be_made_fails_alone_in_its_block():
    world = World()
    party = world.customer()
    writer = InvoiceWriter(
        world.transactions,
        finalized=events.invoice_finalized,
        payment_terms=timedelta(days=30),
        counters=Uncounted(),
    )

    def broken(grants):
        raise InvalidArgument.field("plan.currency", "must be the customer's currency")

    def pending(key):
        return Pending(key, "sub_1", InvoiceKind.REGULAR, party.snapshot, party.id, "USD")

    world.subscribe("sub_1", party)
    world.now = at(4, 2)
    good_draft = draft_invoice(
        DraftInputs(
            customer=party.billed, plan=hybrid().plan, period=Period(MARCH, APRIL), active=Period(MARCH, MAY)
        )
    )
    answers = writer.save_many(
        [
            Save(pending("k-bad"), broken, at(4, 1), True),
            Save(pending("k-good"), lambda g: good_draft, at(4, 1), True),
        ],
        now=at(4, 2),
    )
    assert isinstance(answers[0], InvalidArgument)
    invoice, changed = answers[1]  # type: ignore[misc]
    assert (changed, invoice.number, str(invoice.total.amount)) == (True, "INV-2026-000001", "58.80")
    assert [i.id for i in world.invoices()] == [invoice.id]


async def test_a_calendar_subscription_starting_mid_month_is_billed_when_its_first_period_ends():
    world = World()
    counted = Counting()
    world.billing = Billing(
        world.transactions,
        world.catalog,
        world.metering,
        world.wake,
        finalized=events.invoice_finalized,
        alerted=events.alert_triggered,
        policy=BillingPolicy(grace=timedelta(hours=1), payment_terms=timedelta(days=30)),
        counters=counted,
        clock=world.clock,
    )
    world.subscribe("sub_1", world.customer(), start=at(3, 20))
    await world.run(at(3, 25))  # the first period (20 to 31 March) is open: nothing billed
    assert world.invoices() == []
    result = await world.run(at(4, 1, 2))  # it ended an hour and more ago: billed, prorated, final
    [march] = world.invoices()
    assert (march.status, march.period.start, march.period.end) == (InvoiceStatus.FINALIZED, MARCH, APRIL)
    # 12 of 31 days of the 49.00 fee: 18.97.
    assert lines(march) == [
        ("RECURRING", "Platform fee", "18.97", "3.79"),
        ("USAGE", "API calls", "0.00", "0.00"),
    ]
    assert (result.drafted, result.finalized) == (1, 1)
    assert (counted.drafted_count, counted.finalized_count) == (1, 1)
    runs = await world.billing.runs(after=None, limit=5)
    assert [(run.evaluated, run.finalized, run.failures) for run in runs] == [(1, 1, ()), (1, 0, ())]


async def test_a_preview_whose_terms_catalog_refuses_says_so_and_asks_nothing_of_the_year_9999():
    world = World()
    world.subscribe("sub_1", world.customer())
    world.catalog.refusing["sub_1"] = "no plan version in force"
    world.now = at(4, 10)
    with pytest.raises(FailedPrecondition, match="no plan version in force"):
        await world.previews.preview("sub_1")
    assert all(asked.year < 9999 for asked in world.catalog.terms_asked)


class Counting:
    def __init__(self) -> None:
        self.drafted_count = 0
        self.finalized_count = 0

    def drafted(self, count: int) -> None:
        self.drafted_count += count

    def finalized(self, count: int) -> None:
        self.finalized_count += count
