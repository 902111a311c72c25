"""Fake ERPs on loopback for tests and the demo: NetSuite (SOAP with a served WSDL, REST with its token
endpoint) and Sage Intacct (XML gateway), sharing inspectable books, with injected faults."""

from tally.fake_erp.books import BookEntry, Books
from tally.fake_erp.faults import Fault, FaultPlan
from tally.fake_erp.intacct import FakeIntacct
from tally.fake_erp.netsuite import FakeNetSuite

__all__ = ["BookEntry", "Books", "FakeIntacct", "FakeNetSuite", "Fault", "FaultPlan"]
