"""The real netsuitesdk and sageintacctsdk are what talk to the fakes, at the pinned versions, through the
hooks erp-sync relies on: NetSuiteClient's URL templates, and ApiBase's private gateway URL and HTTP call."""

import time
from datetime import UTC, datetime
from importlib.metadata import version

import pytest
from netsuitesdk.internal.client import NetSuiteClient
from sageintacctsdk.apis import ApiBase

from tally.erp_sync.adapters.intacct import SEND_ATTRIBUTE, URL_ATTRIBUTE, Intacct, IntacctCredentials
from tally.erp_sync.adapters.netsuite_soap import NetSuiteSoap, TokenCredentials, client_class
from tally.erp_sync.domain import DocumentKind
from tally.erp_sync.posting import Retryable
from tally.fake_erp import Fault
from tally.fake_erp.books import INVOICE, BookEntry
from tally.fake_erp.setup import fake_intacct, fake_netsuite


def test_the_pinned_sdk_versions_are_installed():
    # Both hooks below are private to these versions: a new release must be checked before it is let in.
    assert (version("netsuitesdk"), version("sageintacctsdk")) == ("3.3.0", "1.28.1")


def test_netsuitesdk_reaches_the_fake_through_its_url_templates():
    fake = fake_netsuite().start()
    try:
        client_type = client_class(fake.url)
        assert issubclass(client_type, NetSuiteClient)
        assert client_type.WSDL_URL_TEMPLATE.startswith(fake.url)
        c = fake.credentials
        adapter = NetSuiteSoap(
            TokenCredentials(c.account, c.consumer_key, c.consumer_secret, c.token_key, c.token_secret),
            base_url=fake.url,
            timeout_s=5,
        )
        before = fake.calls
        assert adapter.find(DocumentKind.INVOICE, "tally-inv-none") is None
        # The WSDL download and the SOAP get both reached the fake: nothing went to NetSuite's own hosts.
        assert fake.calls - before == 2
    finally:
        fake.stop()


def test_a_wrong_token_secret_is_refused_by_the_fake():
    fake = fake_netsuite().start()
    try:
        c = fake.credentials
        adapter = NetSuiteSoap(
            TokenCredentials(c.account, c.consumer_key, c.consumer_secret, c.token_key, "not-the-secret"),
            base_url=fake.url,
            timeout_s=5,
        )
        with pytest.raises(Retryable, match="Invalid login attempt"):
            adapter.find(DocumentKind.INVOICE, "tally-inv-none")
    finally:
        fake.stop()


def test_sageintacctsdk_uses_its_private_url_and_our_http_call_with_its_timeout():
    assert URL_ATTRIBUTE in vars(ApiBase()), "ApiBase no longer keeps its URL in _ApiBase__api_url"
    assert hasattr(ApiBase, SEND_ATTRIBUTE), (
        "ApiBase no longer sends through _ApiBase__post_request_for_raw_response"
    )
    fake = fake_intacct().start()
    try:
        i = fake.credentials
        credentials = IntacctCredentials(
            i.sender_id, i.sender_password, i.user_id, i.company_id, i.user_password
        )
        adapter = Intacct(credentials, url=fake.url, timeout_s=0.5)
        assert adapter.find(DocumentKind.INVOICE, "tally-inv-none") is None
        assert fake.calls == 2  # getAPISession, then readByQuery: both at the fake's URL
        fake.books.create(BookEntry(INVOICE, "", "tally-inv-1", day=datetime.now(UTC).date()))
        assert adapter.find(DocumentKind.INVOICE, "tally-inv-1") is not None
        # Our HTTP call carries the timeout: a stalled gateway is given up on after 0.5 s, not 3 s later
        # when the stall drops the connection (the SDK's own requests.post has no timeout).
        fake.faults.stall_s = 3.0
        fake.faults.queue(Fault.TIMEOUT)
        started = time.monotonic()
        with pytest.raises(Retryable, match="timed out"):
            adapter.find(DocumentKind.INVOICE, "tally-inv-1")
        assert time.monotonic() - started < 2.5
    finally:
        fake.stop()
