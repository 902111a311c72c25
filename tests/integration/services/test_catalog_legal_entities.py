"""Catalog's legal entities and what invoices are addressed and referenced with: entities validated in full (bad
fields named), number prefixes unique and fixed once set; customers assigned to an existing entity with their
billing contacts, locale and tax naming; subscriptions' purchase order and contract; grants PREPAID or
PROMOTIONAL."""

from __future__ import annotations

import grpc
import pytest

from tally.api.catalog.v1 import catalog_service_pb2 as pb
from tally.api.catalog.v1 import catalog_service_pb2_grpc as pb_grpc
from tally.api.common.v1 import money_pb2
from tally.mesh.errors import field_violations
from tally.testing.services import ServiceProcess

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def stub(tmp_path, nats_server, database_url):
    service = ServiceProcess("catalog", "tally.catalog", database_url, nats_server.url, tmp_path / "catalog")
    service.start()
    with grpc.insecure_channel(service.target) as channel:
        raw = pb_grpc.CatalogServiceStub(channel)

        class Authed:
            def __getattr__(self, name):
                call = getattr(raw, name)
                return lambda request: call(request, metadata=service.metadata())

        yield Authed()
    service.kill()


def refused(call, request):
    with pytest.raises(grpc.RpcError) as caught:
        call(request)
    return caught.value.code(), [v.field for v in field_violations(caught.value)]


def test_legal_entities_are_validated_listed_and_keep_their_number_prefix(stub):
    uk = stub.CreateLegalEntity(
        pb.CreateLegalEntityRequest(
            legal_entity=pb.LegalEntity(
                legal_name=" Tally Billing UK Ltd ",
                address=pb.Address(
                    line1="1 Ledger Lane", city="London", postal_code="EC1A 1AA", country="GB"
                ),
                tax_id="GB123456789",
                remittance_lines=["IBAN GB29 NWBK 6016 1331 9268 19", " "],
                logo=PNG,
                number_prefix="UK",
                payment_terms_days=14,
                locale="en_GB",
            )
        )
    ).legal_entity
    assert (uk.legal_name, list(uk.remittance_lines), uk.logo, uk.number_prefix) == (
        "Tally Billing UK Ltd",
        ["IBAN GB29 NWBK 6016 1331 9268 19"],
        PNG,
        "UK",
    )
    assert stub.GetLegalEntity(pb.GetLegalEntityRequest(legal_entity_id=uk.id)).legal_entity == uk
    assert [e.id for e in stub.ListLegalEntities(pb.ListLegalEntitiesRequest()).legal_entities] == [uk.id]

    bad = pb.LegalEntity(
        legal_name="",
        address=pb.Address(country="United Kingdom"),
        logo=b"GIF89a",
        number_prefix="uk-1",
        payment_terms_days=400,
        locale="English",
    )
    assert refused(stub.CreateLegalEntity, pb.CreateLegalEntityRequest(legal_entity=bad)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        [
            "legal_entity.legal_name",
            "legal_entity.address.country",
            "legal_entity.logo",
            "legal_entity.number_prefix",
            "legal_entity.payment_terms_days",
            "legal_entity.locale",
        ],
    )
    taken = pb.LegalEntity(legal_name="Another", number_prefix="UK")
    assert refused(stub.CreateLegalEntity, pb.CreateLegalEntityRequest(legal_entity=taken))[0] == (
        grpc.StatusCode.ALREADY_EXISTS
    )
    assert refused(
        stub.UpdateLegalEntity,
        pb.UpdateLegalEntityRequest(
            legal_entity=pb.LegalEntity(id=uk.id, number_prefix="GB"),
            update_mask={"paths": ["number_prefix"]},
        ),
    ) == (grpc.StatusCode.INVALID_ARGUMENT, ["update_mask"])
    renamed = stub.UpdateLegalEntity(
        pb.UpdateLegalEntityRequest(
            legal_entity=pb.LegalEntity(id=uk.id, legal_name="Tally UK Ltd"),
            update_mask={"paths": ["legal_name"]},
        )
    ).legal_entity
    assert (renamed.legal_name, renamed.number_prefix, renamed.logo) == ("Tally UK Ltd", "UK", PNG)


def test_customers_subscriptions_and_grants_carry_what_their_documents_need(stub):
    entity = stub.CreateLegalEntity(
        pb.CreateLegalEntityRequest(
            legal_entity=pb.LegalEntity(legal_name="Tally Billing Inc.", number_prefix="US")
        )
    ).legal_entity
    fields = dict(
        external_id="acme",
        name="Acme Corp",
        currency="USD",
        legal_entity_id=entity.id,
        billing_emails=["ap@acme.test", " cfo@acme.test "],
        locale="en_US",
        tax_name="Sales tax",
        tax_jurisdiction="NY, US",
    )
    acme = stub.CreateCustomer(pb.CreateCustomerRequest(customer=pb.Customer(**fields))).customer
    assert (acme.legal_entity_id, list(acme.billing_emails), acme.locale, acme.tax_name) == (
        entity.id,
        ["ap@acme.test", "cfo@acme.test"],
        "en_US",
        "Sales tax",
    )
    assert stub.GetCustomer(pb.GetCustomerRequest(customer_id=acme.id)).customer == acme
    unknown = pb.Customer(**{**fields, "external_id": "bluth", "legal_entity_id": "nope"})
    assert refused(stub.CreateCustomer, pb.CreateCustomerRequest(customer=unknown)) == (
        grpc.StatusCode.NOT_FOUND,
        ["customer.legal_entity_id"],
    )
    wrong = pb.Customer(
        **{
            **fields,
            "external_id": "globex",
            "legal_entity_id": "",
            "billing_emails": ["not an address"],
            "locale": "??",
            "tax_exempt": True,
            "reverse_charge": True,
        }
    )
    assert refused(stub.CreateCustomer, pb.CreateCustomerRequest(customer=wrong)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        ["customer.billing_emails[0]", "customer.locale", "customer.reverse_charge"],
    )

    product = stub.CreateProduct(pb.CreateProductRequest(product=pb.Product(name="Platform"))).product
    plan = stub.CreatePlan(pb.CreatePlanRequest(plan=pb.Plan(name="Fee"))).plan
    version = stub.PublishPlanVersion(
        pb.PublishPlanVersionRequest(
            plan_version=pb.PlanVersion(
                plan_id=plan.id,
                currency="USD",
                charges=[
                    pb.Charge(
                        id="fee",
                        name="Fee",
                        price=pb.Price(currency="USD", product_id=product.id, flat=pb.FlatPrice(amount="10")),
                    )
                ],
            )
        )
    ).plan_version
    subscription = stub.CreateSubscription(
        pb.CreateSubscriptionRequest(
            subscription=pb.Subscription(
                customer_id=acme.id,
                plan_version_id=version.id,
                start_at={"seconds": 1_775_000_000},
                billing_cycle=pb.BILLING_CYCLE_MONTHLY,
                purchase_order="PO-4471",
            )
        )
    ).subscription
    assert subscription.purchase_order == "PO-4471"
    amended = stub.UpdateSubscription(
        pb.UpdateSubscriptionRequest(
            subscription=pb.Subscription(id=subscription.id, contract_reference="MSA-2026-03"),
            update_mask={"paths": ["contract_reference"]},
        )
    ).subscription
    assert (amended.purchase_order, amended.contract_reference) == ("PO-4471", "MSA-2026-03")

    promotional = stub.CreateCreditGrant(
        pb.CreateCreditGrantRequest(
            credit_grant=pb.CreditGrant(
                customer_id=acme.id,
                amount=money_pb2.Money(amount="50.00", currency="USD"),
                cost_basis="0",
                kind=pb.CREDIT_GRANT_KIND_PROMOTIONAL,
            )
        )
    ).credit_grant
    bought = stub.CreateCreditGrant(
        pb.CreateCreditGrantRequest(
            credit_grant=pb.CreditGrant(
                customer_id=acme.id, amount=money_pb2.Money(amount="100.00", currency="USD"), cost_basis="1"
            )
        )
    ).credit_grant
    assert (promotional.kind, bought.kind) == (pb.CREDIT_GRANT_KIND_PROMOTIONAL, pb.CREDIT_GRANT_KIND_PREPAID)
    listed = stub.ListCreditGrants(pb.ListCreditGrantsRequest(customer_id=acme.id)).credit_grants
    assert sorted(g.kind for g in listed) == sorted(
        [pb.CREDIT_GRANT_KIND_PROMOTIONAL, pb.CREDIT_GRANT_KIND_PREPAID]
    )
