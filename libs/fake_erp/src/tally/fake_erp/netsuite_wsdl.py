"""The WSDL the fake NetSuite serves: the slice of SuiteTalk 2019.1 that erp-sync uses, in NetSuite's layout.

netsuitesdk finds types by zeep's automatic prefixes (``ns19`` is sales, ``ns23`` customers), which zeep
numbers in the order the schemas appear, so every namespace of NetSuite's WSDL is declared in NetSuite's
order, most of them empty. Every operation's output declares the ``documentInfo`` header, as NetSuite's do:
that is what makes zeep answer with ``.body`` and ``.header``, which the SDK reads.
"""

from __future__ import annotations

VERSION = "2019_1"

CORE = f"urn:core_{VERSION}.platform.webservices.netsuite.com"
MESSAGES = f"urn:messages_{VERSION}.platform.webservices.netsuite.com"
COMMON = f"urn:common_{VERSION}.platform.webservices.netsuite.com"
RELATIONSHIPS = f"urn:relationships_{VERSION}.lists.webservices.netsuite.com"
SALES = f"urn:sales_{VERSION}.transactions.webservices.netsuite.com"
CUSTOMERS = f"urn:customers_{VERSION}.transactions.webservices.netsuite.com"
PLATFORM = f"urn:platform_{VERSION}.webservices.netsuite.com"

NAMESPACES = [
    CORE,
    f"urn:types.core_{VERSION}.platform.webservices.netsuite.com",
    f"urn:faults_{VERSION}.platform.webservices.netsuite.com",
    f"urn:types.faults_{VERSION}.platform.webservices.netsuite.com",
    MESSAGES,
    COMMON,
    f"urn:types.common_{VERSION}.platform.webservices.netsuite.com",
    f"urn:scheduling_{VERSION}.activities.webservices.netsuite.com",
    f"urn:types.scheduling_{VERSION}.activities.webservices.netsuite.com",
    f"urn:communication_{VERSION}.general.webservices.netsuite.com",
    f"urn:types.communication_{VERSION}.general.webservices.netsuite.com",
    f"urn:filecabinet_{VERSION}.documents.webservices.netsuite.com",
    f"urn:types.filecabinet_{VERSION}.documents.webservices.netsuite.com",
    RELATIONSHIPS,
    f"urn:types.relationships_{VERSION}.lists.webservices.netsuite.com",
    f"urn:support_{VERSION}.lists.webservices.netsuite.com",
    f"urn:types.support_{VERSION}.lists.webservices.netsuite.com",
    f"urn:accounting_{VERSION}.lists.webservices.netsuite.com",
    f"urn:types.accounting_{VERSION}.lists.webservices.netsuite.com",
    SALES,
    f"urn:types.sales_{VERSION}.transactions.webservices.netsuite.com",
    f"urn:purchases_{VERSION}.transactions.webservices.netsuite.com",
    f"urn:types.purchases_{VERSION}.transactions.webservices.netsuite.com",
    CUSTOMERS,
    f"urn:types.customers_{VERSION}.transactions.webservices.netsuite.com",
    f"urn:financial_{VERSION}.transactions.webservices.netsuite.com",
    f"urn:types.financial_{VERSION}.transactions.webservices.netsuite.com",
    f"urn:bank_{VERSION}.transactions.webservices.netsuite.com",
    f"urn:types.bank_{VERSION}.transactions.webservices.netsuite.com",
    f"urn:inventory_{VERSION}.transactions.webservices.netsuite.com",
    f"urn:types.inventory_{VERSION}.transactions.webservices.netsuite.com",
    f"urn:general_{VERSION}.transactions.webservices.netsuite.com",
    f"urn:customization_{VERSION}.setup.webservices.netsuite.com",
    f"urn:types.customization_{VERSION}.setup.webservices.netsuite.com",
    f"urn:employees_{VERSION}.lists.webservices.netsuite.com",
    f"urn:types.employees_{VERSION}.lists.webservices.netsuite.com",
    f"urn:website_{VERSION}.lists.webservices.netsuite.com",
    f"urn:types.website_{VERSION}.lists.webservices.netsuite.com",
    f"urn:employees_{VERSION}.transactions.webservices.netsuite.com",
    f"urn:types.employees_{VERSION}.transactions.webservices.netsuite.com",
]

_XMLNS = (
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
    f'xmlns:core="{CORE}" xmlns:msgs="{MESSAGES}" xmlns:common="{COMMON}" '
    f'xmlns:rel="{RELATIONSHIPS}" xmlns:sales="{SALES}" xmlns:cust="{CUSTOMERS}"'
)


def _ref(name: str) -> str:
    return f'<xsd:element name="{name}" type="core:RecordRef" minOccurs="0"/>'


def _field(name: str, kind: str) -> str:
    return f'<xsd:element name="{name}" type="xsd:{kind}" minOccurs="0"/>'


def _record(name: str, body: str) -> str:
    return f"""
  <xsd:complexType name="{name}">
    <xsd:complexContent><xsd:extension base="core:Record"><xsd:sequence>{body}</xsd:sequence>
      <xsd:attribute name="internalId" type="xsd:string"/>
      <xsd:attribute name="externalId" type="xsd:string"/>
    </xsd:extension></xsd:complexContent>
  </xsd:complexType>"""


_SEGMENTS = _ref("department") + _ref("class") + _ref("location")
_ITEM = (
    _ref("item")
    + _field("description", "string")
    + _field("quantity", "double")
    + _field("amount", "double")
    + _ref("taxCode")
    + _field("tax1Amt", "double")
    + _SEGMENTS
)
_DOCUMENT_HEAD = (
    _ref("entity")
    + _field("tranId", "string")
    + _field("tranDate", "dateTime")
    + _ref("currency")
    + _ref("subsidiary")
    + _ref("account")
    + _SEGMENTS
    + _field("memo", "string")
)
_DOCUMENT_TAIL = (
    _field("subTotal", "double")
    + _field("taxTotal", "double")
    + _field("total", "double")
    + _field("lastModifiedDate", "dateTime")
)


def _list(name: str, item: str) -> str:
    return f"""
  <xsd:complexType name="{name}">
    <xsd:sequence><xsd:element name="item" type="{item}" minOccurs="0" maxOccurs="unbounded"/></xsd:sequence>
    <xsd:attribute name="replaceAll" type="xsd:boolean"/>
  </xsd:complexType>"""


_SCHEMAS = {
    CORE: """
  <xsd:complexType name="BaseRef" abstract="true">
    <xsd:sequence><xsd:element name="name" type="xsd:string" minOccurs="0"/></xsd:sequence>
  </xsd:complexType>
  <xsd:complexType name="RecordRef">
    <xsd:complexContent><xsd:extension base="core:BaseRef">
      <xsd:attribute name="internalId" type="xsd:string"/>
      <xsd:attribute name="externalId" type="xsd:string"/>
      <xsd:attribute name="type" type="xsd:string"/>
    </xsd:extension></xsd:complexContent>
  </xsd:complexType>
  <xsd:complexType name="Record" abstract="true"><xsd:sequence/></xsd:complexType>
  <xsd:complexType name="Passport"><xsd:sequence>
    <xsd:element name="email" type="xsd:string"/><xsd:element name="password" type="xsd:string"/>
    <xsd:element name="account" type="xsd:string"/><xsd:element name="role" type="core:RecordRef" minOccurs="0"/>
  </xsd:sequence></xsd:complexType>
  <xsd:complexType name="TokenPassportSignature">
    <xsd:simpleContent><xsd:extension base="xsd:string">
      <xsd:attribute name="algorithm" type="xsd:string" use="required"/>
    </xsd:extension></xsd:simpleContent>
  </xsd:complexType>
  <xsd:complexType name="TokenPassport"><xsd:sequence>
    <xsd:element name="account" type="xsd:string"/><xsd:element name="consumerKey" type="xsd:string"/>
    <xsd:element name="token" type="xsd:string"/><xsd:element name="nonce" type="xsd:string"/>
    <xsd:element name="timestamp" type="xsd:long"/>
    <xsd:element name="signature" type="core:TokenPassportSignature"/>
  </xsd:sequence></xsd:complexType>
  <xsd:complexType name="StatusDetail">
    <xsd:sequence>
      <xsd:element name="code" type="xsd:string" minOccurs="0"/>
      <xsd:element name="message" type="xsd:string" minOccurs="0"/>
    </xsd:sequence>
    <xsd:attribute name="type" type="xsd:string"/>
  </xsd:complexType>
  <xsd:complexType name="Status">
    <xsd:sequence><xsd:element name="statusDetail" type="core:StatusDetail" minOccurs="0" maxOccurs="unbounded"/></xsd:sequence>
    <xsd:attribute name="isSuccess" type="xsd:boolean" use="required"/>
  </xsd:complexType>
  <xsd:complexType name="WriteResponse"><xsd:sequence>
    <xsd:element name="status" type="core:Status"/>
    <xsd:element name="baseRef" type="core:BaseRef" minOccurs="0"/>
  </xsd:sequence></xsd:complexType>
  <xsd:complexType name="ReadResponse"><xsd:sequence>
    <xsd:element name="status" type="core:Status"/>
    <xsd:element name="record" type="core:Record" minOccurs="0"/>
  </xsd:sequence></xsd:complexType>
  <xsd:complexType name="RecordList"><xsd:sequence>
    <xsd:element name="record" type="core:Record" minOccurs="0" maxOccurs="unbounded"/>
  </xsd:sequence></xsd:complexType>
  <xsd:complexType name="SearchResult"><xsd:sequence>
    <xsd:element name="status" type="core:Status"/>
    <xsd:element name="totalRecords" type="xsd:int" minOccurs="0"/>
    <xsd:element name="pageSize" type="xsd:int" minOccurs="0"/>
    <xsd:element name="totalPages" type="xsd:int" minOccurs="0"/>
    <xsd:element name="pageIndex" type="xsd:int" minOccurs="0"/>
    <xsd:element name="searchId" type="xsd:string" minOccurs="0"/>
    <xsd:element name="recordList" type="core:RecordList" minOccurs="0"/>
  </xsd:sequence></xsd:complexType>
  <xsd:complexType name="SearchRecord" abstract="true"><xsd:sequence/></xsd:complexType>
  <xsd:complexType name="SearchEnumMultiSelectField">
    <xsd:sequence><xsd:element name="searchValue" type="xsd:string" minOccurs="0" maxOccurs="unbounded"/></xsd:sequence>
    <xsd:attribute name="operator" type="xsd:string" use="required"/>
  </xsd:complexType>
  <xsd:complexType name="SearchDateField">
    <xsd:sequence>
      <xsd:element name="searchValue" type="xsd:dateTime" minOccurs="0"/>
      <xsd:element name="searchValue2" type="xsd:dateTime" minOccurs="0"/>
    </xsd:sequence>
    <xsd:attribute name="operator" type="xsd:string"/>
  </xsd:complexType>
  <xsd:complexType name="SearchStringField">
    <xsd:sequence><xsd:element name="searchValue" type="xsd:string" minOccurs="0"/></xsd:sequence>
    <xsd:attribute name="operator" type="xsd:string"/>
  </xsd:complexType>
  <xsd:complexType name="SearchBooleanField">
    <xsd:sequence><xsd:element name="searchValue" type="xsd:boolean" minOccurs="0"/></xsd:sequence>
  </xsd:complexType>""",
    MESSAGES: """
  <xsd:complexType name="ApplicationInfo"><xsd:sequence>
    <xsd:element name="applicationId" type="xsd:string" minOccurs="0"/>
  </xsd:sequence></xsd:complexType>
  <xsd:complexType name="SearchPreferences"><xsd:sequence>
    <xsd:element name="bodyFieldsOnly" type="xsd:boolean" minOccurs="0"/>
    <xsd:element name="returnSearchColumns" type="xsd:boolean" minOccurs="0"/>
    <xsd:element name="pageSize" type="xsd:int" minOccurs="0"/>
  </xsd:sequence></xsd:complexType>
  <xsd:complexType name="DocumentInfo"><xsd:sequence>
    <xsd:element name="nsId" type="xsd:string" minOccurs="0"/>
  </xsd:sequence></xsd:complexType>
  <xsd:element name="passport" type="core:Passport"/>
  <xsd:element name="tokenPassport" type="core:TokenPassport"/>
  <xsd:element name="applicationInfo" type="msgs:ApplicationInfo"/>
  <xsd:element name="searchPreferences" type="msgs:SearchPreferences"/>
  <xsd:element name="documentInfo" type="msgs:DocumentInfo"/>
  <xsd:element name="upsert"><xsd:complexType><xsd:sequence>
    <xsd:element name="record" type="core:Record"/>
  </xsd:sequence></xsd:complexType></xsd:element>
  <xsd:element name="upsertResponse"><xsd:complexType><xsd:sequence>
    <xsd:element name="writeResponse" type="core:WriteResponse"/>
  </xsd:sequence></xsd:complexType></xsd:element>
  <xsd:element name="get"><xsd:complexType><xsd:sequence>
    <xsd:element name="baseRef" type="core:BaseRef"/>
  </xsd:sequence></xsd:complexType></xsd:element>
  <xsd:element name="getResponse"><xsd:complexType><xsd:sequence>
    <xsd:element name="readResponse" type="core:ReadResponse"/>
  </xsd:sequence></xsd:complexType></xsd:element>
  <xsd:element name="search"><xsd:complexType><xsd:sequence>
    <xsd:element name="searchRecord" type="core:SearchRecord"/>
  </xsd:sequence></xsd:complexType></xsd:element>
  <xsd:element name="searchResponse"><xsd:complexType><xsd:sequence>
    <xsd:element name="searchResult" type="core:SearchResult"/>
  </xsd:sequence></xsd:complexType></xsd:element>
  <xsd:element name="searchMoreWithId"><xsd:complexType><xsd:sequence>
    <xsd:element name="searchId" type="xsd:string"/><xsd:element name="pageIndex" type="xsd:int"/>
  </xsd:sequence></xsd:complexType></xsd:element>
  <xsd:element name="searchMoreWithIdResponse"><xsd:complexType><xsd:sequence>
    <xsd:element name="searchResult" type="core:SearchResult"/>
  </xsd:sequence></xsd:complexType></xsd:element>""",
    COMMON: """
  <xsd:complexType name="TransactionSearchBasic">
    <xsd:complexContent><xsd:extension base="core:SearchRecord"><xsd:sequence>
      <xsd:element name="externalIdString" type="core:SearchStringField" minOccurs="0"/>
      <xsd:element name="lastModifiedDate" type="core:SearchDateField" minOccurs="0"/>
      <xsd:element name="tranDate" type="core:SearchDateField" minOccurs="0"/>
      <xsd:element name="type" type="core:SearchEnumMultiSelectField" minOccurs="0"/>
    </xsd:sequence></xsd:extension></xsd:complexContent>
  </xsd:complexType>""",
    RELATIONSHIPS: _record(
        "Customer",
        _field("entityId", "string")
        + _field("companyName", "string")
        + _field("email", "string")
        + _field("isPerson", "boolean")
        + _ref("currency")
        + _ref("subsidiary")
        + _ref("representingSubsidiary")
        + _ref("monthlyClosing")
        + _ref("terms")
        + _ref("receivablesAccount"),
    ),
    SALES: _record(
        "Invoice",
        _DOCUMENT_HEAD
        + _field("dueDate", "dateTime")
        + _ref("terms")
        + '<xsd:element name="itemList" type="sales:InvoiceItemList" minOccurs="0"/>'
        + _DOCUMENT_TAIL,
    )
    + _list("InvoiceItemList", "sales:InvoiceItem")
    + f'<xsd:complexType name="InvoiceItem"><xsd:sequence>{_ITEM}</xsd:sequence></xsd:complexType>',
    CUSTOMERS: _record(
        "CreditMemo",
        _DOCUMENT_HEAD
        + _ref("createdFrom")
        + '<xsd:element name="itemList" type="cust:CreditMemoItemList" minOccurs="0"/>'
        + _DOCUMENT_TAIL,
    )
    + _list("CreditMemoItemList", "cust:CreditMemoItem")
    + f'<xsd:complexType name="CreditMemoItem"><xsd:sequence>{_ITEM}</xsd:sequence></xsd:complexType>'
    + _record(
        "CustomerPayment",
        _ref("customer")
        + _ref("currency")
        + _field("tranDate", "dateTime")
        + _field("payment", "double")
        + _field("lastModifiedDate", "dateTime")
        + '<xsd:element name="applyList" type="cust:CustomerPaymentApplyList" minOccurs="0"/>',
    )
    + """
  <xsd:complexType name="CustomerPaymentApplyList"><xsd:sequence>
    <xsd:element name="apply" type="cust:CustomerPaymentApply" minOccurs="0" maxOccurs="unbounded"/>
  </xsd:sequence></xsd:complexType>
  <xsd:complexType name="CustomerPaymentApply"><xsd:sequence>
    <xsd:element name="doc" type="xsd:long" minOccurs="0"/>
    <xsd:element name="apply" type="xsd:boolean" minOccurs="0"/>
    <xsd:element name="amount" type="xsd:double" minOccurs="0"/>
  </xsd:sequence></xsd:complexType>""",
}

_OPERATIONS = ("upsert", "get", "search", "searchMoreWithId")
_REQUEST_HEADERS = ("tokenPassport", "passport", "applicationInfo", "searchPreferences")


def _schema(namespace: str) -> str:
    imports = "".join(
        f'<xsd:import namespace="{other}"/>' for other in (CORE, MESSAGES) if other != namespace
    )
    return (
        f'<xsd:schema targetNamespace="{namespace}" elementFormDefault="qualified" {_XMLNS}>'
        f"{imports}{_SCHEMAS.get(namespace, '')}</xsd:schema>"
    )


def wsdl(service_url: str) -> str:
    """NetSuite's WSDL as the fake speaks it, its port bound at ``service_url``."""
    schemas = "\n".join(_schema(namespace) for namespace in NAMESPACES)
    header_messages = "".join(
        f'<message name="{h}Header"><part name="{h}" element="msgs:{h}"/></message>'
        for h in (*_REQUEST_HEADERS, "documentInfo")
    )
    messages = "".join(
        f'<message name="{op}Request"><part name="parameters" element="msgs:{op}"/></message>'
        f'<message name="{op}Response"><part name="parameters" element="msgs:{op}Response"/></message>'
        for op in _OPERATIONS
    )
    port_ops = "".join(
        f'<operation name="{op}"><input message="tns:{op}Request"/><output message="tns:{op}Response"/></operation>'
        for op in _OPERATIONS
    )
    in_headers = "".join(
        f'<soap:header message="tns:{h}Header" part="{h}" use="literal"/>' for h in _REQUEST_HEADERS
    )
    binding_ops = "".join(
        f'<operation name="{op}"><soap:operation soapAction="{op}"/>'
        f'<input><soap:body use="literal"/>{in_headers}</input>'
        '<output><soap:body use="literal"/>'
        '<soap:header message="tns:documentInfoHeader" part="documentInfo" use="literal"/></output>'
        "</operation>"
        for op in _OPERATIONS
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
  xmlns:tns="{PLATFORM}" xmlns:msgs="{MESSAGES}" targetNamespace="{PLATFORM}">
<types>
{schemas}
</types>
{header_messages}{messages}
<portType name="NetSuitePortType">{port_ops}</portType>
<binding name="NetSuiteBinding" type="tns:NetSuitePortType">
  <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
  {binding_ops}
</binding>
<service name="NetSuiteService">
  <port name="NetSuitePort" binding="tns:NetSuiteBinding"><soap:address location="{service_url}"/></port>
</service>
</definitions>
"""
