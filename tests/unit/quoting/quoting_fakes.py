"""In-memory stand-ins for quoting's ports: the quote repository (with its outbox and inbox) and catalog."""

from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from tally.domain.errors import NotFound
from tally.pricing import BillingTiming, FlatPrice, GraduatedPrice, Tier, UnitPrice
from tally.quoting.domain import ListedCharge, ListedPlan, QuotedCustomer, QuoteVersion, quote_number

D = Decimal
PLAN = ListedPlan(
    id="pv-1",
    currency="USD",
    charges=(
        ListedCharge(
            "platform", "Platform fee", FlatPrice("USD", D("100.00"), BillingTiming.IN_ARREARS), "", D(0)
        ),
        ListedCharge(
            "calls",
            "API calls",
            GraduatedPrice("USD", (Tier(D(1000), D("0.10")), Tier(None, D("0.05")))),
            "m-calls",
            D(0),
        ),
        ListedCharge("storage", "Storage", UnitPrice("USD", D("0.50")), "m-storage", D(10)),
    ),
    minimum_commitment=D("50.00"),
)
"""100.00 a month in arrears; calls 0.10 up to 1,000 then 0.05; storage 0.50 after 10 included; minimum 50."""
ACME = QuotedCustomer("cus-acme", "acme", "Acme", "USD", D(20))


@dataclass
class FakeStore:
    """Quotes as the store keeps them: rows, versions, transitions, the outbox and the inbox."""

    quotes: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    transitions: list = field(default_factory=list)
    outbox: list = field(default_factory=list)
    inbox: set = field(default_factory=set)
    sequence: int = 0

    @contextmanager
    def transaction(self):
        tx = FakeTransaction(self)
        yield tx
        tx.commit()

    def get(self, quote_id):
        return self.quotes.get(quote_id)

    def listing(self, *, customer_id, status, now, before_sequence, limit):
        found = sorted(self.quotes.values(), key=lambda q: q.number, reverse=True)
        return [(0, q) for q in found if status is None or q.status_at(now) is status][:limit]

    def history(self, quote_id):
        versions = sorted(
            (v for (q, _), v in self.versions.items() if q == quote_id), key=lambda v: v.version
        )
        return versions, [t for q, t in self.transitions if q == quote_id]


class FakeTransaction:
    """Changes held until commit, so a use case that fails leaves the store untouched."""

    def __init__(self, store):
        self.store = store
        self.quotes, self.versions, self.transitions, self.outbox = {}, {}, [], []
        self.inbox, self.sequence = set(), store.sequence

    def next_number(self):
        self.sequence += 1
        return self.sequence, quote_number(self.sequence)

    def add(self, quote, sequence, created_by):
        self.quotes[quote.id] = quote
        self.versions[(quote.id, quote.version)] = QuoteVersion(
            quote.version, quote.terms, created_by, quote.updated_at
        )

    def get(self, quote_id):
        return self.quotes.get(quote_id, self.store.quotes.get(quote_id))

    def save(self, quote, *, by):
        self.quotes[quote.id] = quote
        self.versions.setdefault(
            (quote.id, quote.version), QuoteVersion(quote.version, quote.terms, by, quote.updated_at)
        )

    def record(self, quote_id, transition):
        self.transitions.append((quote_id, transition))

    def enqueue(self, message):
        self.outbox.append(message)

    def claim(self, consumer, msg_id):
        if (consumer, msg_id) in self.store.inbox or (consumer, msg_id) in self.inbox:
            return False
        self.inbox.add((consumer, msg_id))
        return True

    def commit(self):
        self.store.quotes.update(self.quotes)
        for key, version in self.versions.items():
            self.store.versions.setdefault(key, version)
        self.store.transitions += self.transitions
        self.store.outbox += self.outbox
        self.store.inbox |= self.inbox
        self.store.sequence = self.sequence


class FakeCatalog:
    def __init__(self, plans=(PLAN,), customers=(ACME,)):
        self.plans = {plan.id: plan for plan in plans}
        self.customers = {customer.id: customer for customer in customers}

    async def plan_version(self, plan_version_id, *, field):
        if plan_version_id not in self.plans:
            raise NotFound("plan version", plan_version_id, field=field)
        return self.plans[plan_version_id]

    async def customer(self, customer_id, *, field):
        if customer_id not in self.customers:
            raise NotFound("customer", customer_id, field=field)
        return self.customers[customer_id]

    async def customer_by_external_id(self, external_id):
        return next((c for c in self.customers.values() if c.external_id == external_id), None)
