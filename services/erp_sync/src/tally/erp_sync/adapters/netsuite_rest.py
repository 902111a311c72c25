"""NetSuite over REST, our own small client (there is no SDK): OAuth 2.0 client credentials with a
PS256-signed JWT, record upserts as ``PUT …/record/v1/<type>/eid:<externalId>``."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import jwt
import requests

from tally.erp_sync.adapters.calls import erp_call, raise_if_busy
from tally.erp_sync.documents import Document
from tally.erp_sync.domain import DocumentKind, Erp
from tally.erp_sync.mapping import ErpMapping
from tally.erp_sync.payments import ErpPayment
from tally.erp_sync.posting import PostingError, Rejected, Retryable
from tally.erp_sync.reconciliation import BookedDocument
from tally.money import Money

PEER = "netsuite-rest"
DEFAULT_BASE_URL = "https://{account}.suitetalk.api.netsuite.com"
TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
RECORD_PATH = "/services/rest/record/v1"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_ASSERTION_LIFETIME_S = 300
_TOKEN_MARGIN_S = 60
_PAGE = 1000
_TYPES = {DocumentKind.INVOICE: "invoice", DocumentKind.CREDIT_NOTE: "creditMemo"}


@dataclass(frozen=True)
class ClientCredentials:
    """An OAuth 2.0 client-credentials integration: client id, certificate id (JWT ``kid``), private key."""

    account: str
    client_id: str
    certificate_id: str
    private_key_pem: bytes


def _classify(exc: Exception) -> PostingError:
    return Retryable(f"{type(exc).__name__}: {exc}")


def _rejected(response: requests.Response) -> Rejected:
    try:
        details = response.json().get("o:errorDetails") or []
        message = "; ".join(f"{d.get('o:errorCode', '')}: {d.get('detail', '')}" for d in details)
    except ValueError:
        message = response.text[:500]
    return Rejected(message or f"NetSuite answered {response.status_code}")


def _number(value: Decimal) -> float:
    """A JSON number for ``value``: exact, as NetSuite amounts have at most 15 significant digits."""
    return float(value)


class NetSuiteRest:
    """The NetSuite adapter over REST; one pooled HTTP session, one bearer token shared by every call."""

    erp = Erp.NETSUITE

    def __init__(
        self, credentials: ClientCredentials, *, base_url: str = DEFAULT_BASE_URL, timeout_s: float
    ) -> None:
        self._credentials = credentials
        self._base = base_url.format(account=credentials.account.lower().replace("_", "-"))
        self._timeout_s = timeout_s
        self._http = requests.Session()
        self._lock = threading.Lock()
        self._token = ""
        self._token_expires = 0.0

    # -- auth --------------------------------------------------------------------------------------------------
    def _bearer(self) -> str:
        with self._lock:
            if self._token and time.monotonic() < self._token_expires:
                return self._token
            c = self._credentials
            url = f"{self._base}{TOKEN_PATH}"
            now = int(time.time())
            assertion = jwt.encode(
                {
                    "iss": c.client_id,
                    "scope": ["restlets", "rest_webservices"],
                    "aud": url,
                    "iat": now,
                    "exp": now + _ASSERTION_LIFETIME_S,
                    "jti": str(uuid.uuid4()),
                },
                c.private_key_pem,
                algorithm="PS256",
                headers={"kid": c.certificate_id, "typ": "JWT"},
            )
            with erp_call(PEER, "token", _classify):
                response = self._http.post(
                    url,
                    data={
                        "grant_type": "client_credentials",
                        "client_assertion_type": ASSERTION_TYPE,
                        "client_assertion": assertion,
                    },
                    timeout=self._timeout_s,
                )
                raise_if_busy(response)
                if response.status_code != 200:
                    raise Retryable(
                        f"NetSuite refused the token request: {response.text[:300]}", maybe_applied=False
                    )
                grant = response.json()
            self._token = str(grant["access_token"])
            self._token_expires = time.monotonic() + float(grant.get("expires_in", 3600)) - _TOKEN_MARGIN_S
            return self._token

    def _request(self, method: str, path: str, operation: str, **kwargs: Any) -> requests.Response:
        with erp_call(PEER, operation, _classify):
            for _ in range(2):
                response = self._http.request(
                    method,
                    f"{self._base}{RECORD_PATH}{path}",
                    headers={"Authorization": f"Bearer {self._bearer()}", "Content-Type": "application/json"},
                    timeout=self._timeout_s,
                    **kwargs,
                )
                if response.status_code != 401:
                    break
                with self._lock:  # the token expired early or was revoked: fetch a new one, once
                    self._token = ""
            raise_if_busy(response)
            if response.status_code >= 500:
                raise Retryable(f"NetSuite answered {response.status_code}")
            return response

    # -- the adapter -------------------------------------------------------------------------------------------
    def ensure_customer(self, document: Document, mapping: ErpMapping) -> str:
        body: dict[str, Any] = {
            "companyName": document.customer_name or document.customer_external_id,
            "entityId": document.customer_external_id,
            "currency": {"id": mapping.currency_for(document.currency)},
            "subsidiary": {"id": mapping.subsidiary},
        }
        if mapping.terms:
            body["terms"] = {"id": mapping.terms}
        return self._upsert("customer", document.customer_key, body, "upsert customer")

    def _upsert(self, record_type: str, key: str, body: dict[str, Any], operation: str) -> str:
        response = self._request("PUT", f"/{record_type}/eid:{key}", operation, data=json.dumps(body))
        if response.status_code >= 400:
            raise _rejected(response)
        return response.headers.get("Location", "").rstrip("/").rsplit("/", 1)[-1]

    def post(self, document: Document, customer: str, mapping: ErpMapping) -> str:
        segments = {name: {"id": value} for name, value in mapping.segments.items()}
        body: dict[str, Any] = {
            "entity": {"id": customer},
            "tranId": document.number,
            "tranDate": document.issued_on.isoformat(),
            "currency": {"id": mapping.currency_for(document.currency)},
            "subsidiary": {"id": mapping.subsidiary},
            "memo": f"Tally {document.number}",
            "item": {
                "items": [
                    {
                        "item": {"id": mapping.item_for(line)},
                        "description": line.description,
                        "amount": _number(line.amount.amount),
                        "taxCode": {"id": mapping.tax_code},
                        "tax1Amt": _number(line.tax.amount),
                        **segments,
                    }
                    for line in document.lines
                ]
            },
            **segments,
        }
        if mapping.ar_account:
            body["account"] = {"id": mapping.ar_account}
        if document.kind is DocumentKind.INVOICE:
            if document.due_on is not None:
                body["dueDate"] = document.due_on.isoformat()
            if mapping.terms:
                body["terms"] = {"id": mapping.terms}
        elif document.credited_invoice_id:
            credited = self.find(DocumentKind.INVOICE, f"tally-inv-{document.credited_invoice_id}")
            if credited is not None:
                body["createdFrom"] = {"id": credited}
        record_type = _TYPES[document.kind]
        return self._upsert(record_type, document.key, body, f"upsert {record_type}")

    def find(self, kind: DocumentKind, key: str) -> str | None:
        record_type = _TYPES[kind]
        response = self._request("GET", f"/{record_type}/eid:{key}", f"get {record_type}")
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise _rejected(response)
        return str(response.json()["id"])

    def _query(self, record_type: str, query: str, operation: str) -> list[dict[str, Any]]:
        """Every record of ``record_type`` matching ``query``, each read in full."""
        ids: list[str] = []
        offset = 0
        while True:
            response = self._request(
                "GET", f"/{record_type}", operation, params={"q": query, "limit": _PAGE, "offset": offset}
            )
            if response.status_code >= 400:
                raise _rejected(response)
            page = response.json()
            ids += [str(item["id"]) for item in page.get("items", [])]
            if not page.get("hasMore"):
                break
            offset += _PAGE
        records = []
        for record_id in ids:
            response = self._request(
                "GET",
                f"/{record_type}/{record_id}",
                f"get {record_type}",
                params={"expandSubResources": "true"},
            )
            if response.status_code == 404:
                continue  # deleted between the list and the read
            if response.status_code >= 400:
                raise _rejected(response)
            records.append(json.loads(response.content, parse_float=Decimal))
        return records

    def documents(self, start: date, end: date, mapping: ErpMapping) -> list[BookedDocument]:
        currencies = {erp_id: code for code, erp_id in mapping.currencies.items()}
        query = f'tranDate ON_OR_AFTER "{start.isoformat()}" AND tranDate BEFORE "{end.isoformat()}"'
        booked = []
        for kind, record_type in _TYPES.items():
            for record in self._query(record_type, query, f"list {record_type}"):
                currency = currencies.get(str((record.get("currency") or {}).get("id", "")), "")
                if not currency or not record.get("externalId"):
                    continue
                amount = Money(Decimal(str(record.get("total", 0))), currency).rounded()
                booked.append(
                    BookedDocument(
                        kind, str(record["externalId"]), amount, number=str(record.get("tranId", ""))
                    )
                )
        return booked

    def payments_since(self, cursor: str) -> tuple[list[ErpPayment], str]:
        since = datetime.fromisoformat(cursor) if cursor else datetime(1970, 1, 1, tzinfo=UTC)
        stamp = since.astimezone(UTC).isoformat().replace("+00:00", "Z")
        payments = []
        latest = since
        for record in self._query(
            "customerPayment", f'lastModifiedDate ON_OR_AFTER "{stamp}"', "list customerPayment"
        ):
            modified = datetime.fromisoformat(str(record["lastModifiedDate"]))
            latest = max(latest, modified)
            received = date.fromisoformat(str(record["tranDate"])) if record.get("tranDate") else None
            for applied in (record.get("apply") or {}).get("items", []):
                if not applied.get("apply"):
                    continue
                invoice = str((applied.get("doc") or {}).get("id", ""))
                payments.append(
                    ErpPayment(
                        f"{record['id']}-{invoice}", invoice, Decimal(str(applied["amount"])), received
                    )
                )
        return payments, latest.isoformat()
