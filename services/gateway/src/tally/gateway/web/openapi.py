"""The OpenAPI 3.1 document of the JSON API, served at /v1/openapi.json (a test checks it against the routes)."""

from __future__ import annotations

from typing import Any

from tally.gateway.domain.webhooks import EVENT_TYPES

_REF = "#/components/schemas/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_PROBLEM = {"description": "problem", "content": {"application/problem+json": {"schema": _ref("Problem")}}}
_ERRORS = {"400": _PROBLEM, "401": _PROBLEM, "403": _PROBLEM, "404": _PROBLEM, "503": _PROBLEM}
_OBJECT = {"type": "object", "additionalProperties": True}


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": description,
    }


def _query(name: str, description: str, enum: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if enum:
        schema["enum"] = enum
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


CUSTOMER = _path_param(
    "customer", "catalog id or external id of the customer (a customer key: its own, or `me`)"
)


def _get(summary: str, ok: dict[str, Any], parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"get": {"summary": summary, "parameters": parameters or [], "responses": {"200": ok, **_ERRORS}}}


def document() -> dict[str, Any]:
    pdf = {
        "description": "the PDF",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tally gateway API",
            "version": "1.0.0",
            "description": "Usage, cost to date, invoices, credit, quotes and webhooks over HTTP. Authenticate with "
            "`Authorization: Bearer <key>`: an operator key (keyring, scope `finance`) reads every customer; a "
            "customer key (`tally keys create --customer`) reads its own customer only (403 for any other). "
            "Errors are RFC 9457 problem+json documents naming each bad field.",
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/usage/batches": {
                "post": {
                    "summary": "Send a batch of usage events (the producer's key is passed on to ingestion)",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("Batch")}},
                    },
                    "responses": {
                        "200": _json(_ref("BatchResult"), "every event accepted (durable)"),
                        "207": _json(
                            _ref("BatchResult"), "some events accepted, the others rejected one by one"
                        ),
                        "400": {
                            "description": "no event accepted, or the batch itself is malformed",
                            "content": {"application/problem+json": {"schema": _ref("Problem")}},
                        },
                        "401": _PROBLEM,
                        "503": _PROBLEM,
                    },
                }
            },
            "/v1/customers/{customer}": _get("A customer", _json(_OBJECT, "the customer"), [CUSTOMER]),
            "/v1/customers/{customer}/usage": _get(
                "Usage per meter over the current and previous period",
                _json(_ref("Usage"), "usage"),
                [CUSTOMER, _query("window", "bucket size", ["hour", "day"])],
            ),
            "/v1/customers/{customer}/cost-to-date": _get(
                "Cost to date of each open period (PreviewInvoice)", _json(_OBJECT, "previews"), [CUSTOMER]
            ),
            "/v1/customers/{customer}/invoices": _get(
                "Invoices, newest first",
                _json(_OBJECT, "a page of invoices"),
                [
                    CUSTOMER,
                    _query("status", "only this status", ["draft", "finalized", "paid", "void"]),
                    _query("page_token", "next page"),
                ],
            ),
            "/v1/customers/{customer}/credit": _get(
                "Prepaid credit: balance, grants, ledger and burn-down", _json(_OBJECT, "credit"), [CUSTOMER]
            ),
            "/v1/customers/{customer}/quotes": _get("Quotes", _json(_OBJECT, "quotes"), [CUSTOMER]),
            "/v1/invoices/{invoice_id}": _get(
                "One invoice with its lines",
                _json(_OBJECT, "the invoice"),
                [_path_param("invoice_id", "invoice id")],
            ),
            "/v1/invoices/{invoice_id}/pdf": _get(
                "An invoice as PDF", pdf, [_path_param("invoice_id", "invoice id")]
            ),
            "/v1/quotes/{quote_id}": _get(
                "One quote", _json(_OBJECT, "the quote"), [_path_param("quote_id", "quote id")]
            ),
            "/v1/webhooks/event-types": _get(
                "Event types an endpoint may subscribe to", _json(_OBJECT, "event types")
            ),
            "/v1/webhooks/endpoints": {
                **_get("Webhook endpoints", _json(_OBJECT, "endpoints")),
                "post": {
                    "summary": "Register an endpoint (its signing secret is in the answer)",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("EndpointInput")}},
                    },
                    "responses": {"201": _json(_ref("Endpoint"), "the endpoint"), **_ERRORS},
                },
            },
            "/v1/webhooks/endpoints/{endpoint_id}": {
                **_get(
                    "One endpoint",
                    _json(_ref("Endpoint"), "the endpoint"),
                    [_path_param("endpoint_id", "endpoint id")],
                ),
                "patch": {
                    "summary": "Enable or disable an endpoint",
                    "parameters": [_path_param("endpoint_id", "endpoint id")],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["enabled"],
                                    "properties": {"enabled": {"type": "boolean"}},
                                }
                            }
                        },
                    },
                    "responses": {"200": _json(_ref("Endpoint"), "the endpoint"), **_ERRORS},
                },
            },
            "/v1/webhooks/deliveries": _get(
                "The delivery log, newest first",
                _json(_OBJECT, "deliveries"),
                [
                    _query("endpoint_id", "only this endpoint"),
                    _query("state", "only this state", ["pending", "succeeded", "failed"]),
                    _query("before_id", "deliveries older than this id"),
                    _query("limit", "at most this many (1-200)"),
                ],
            ),
            "/v1/webhooks/deliveries/{delivery_id}": _get(
                "One delivery with every attempt",
                _json(_OBJECT, "the delivery"),
                [_path_param("delivery_id", "delivery id")],
            ),
            "/v1/webhooks/deliveries/{delivery_id}/replay": {
                "post": {
                    "summary": "Send a delivery again now (same webhook-id)",
                    "parameters": [_path_param("delivery_id", "delivery id")],
                    "responses": {"202": _json(_OBJECT, "the delivery, replay scheduled"), **_ERRORS},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "errors": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
                            },
                        },
                    },
                },
                "Event": {
                    "type": "object",
                    "properties": {
                        "event_id": {"type": "string"},
                        "customer": {"type": "string"},
                        "event_type": {"type": "string"},
                        "timestamp_ms": {"type": ["integer", "string"]},
                        "properties": {
                            "type": "object",
                            "additionalProperties": {"type": ["string", "number"]},
                        },
                    },
                },
                "Batch": {
                    "type": "object",
                    "required": ["events"],
                    "properties": {
                        "batch_id": {"type": "string"},
                        "backfill": {"type": "boolean"},
                        "events": {"type": "array", "items": _ref("Event")},
                    },
                },
                "BatchResult": {
                    "type": "object",
                    "properties": {
                        "batch_id": {"type": "string"},
                        "accepted_count": {"type": "integer"},
                        "rejected": {"type": "array", "items": {"type": "object"}},
                        "events": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "index": {"type": "integer"},
                                    "event_id": {"type": "string"},
                                    "status": {"type": "integer", "enum": [202, 400]},
                                    "code": {"type": "string"},
                                    "field": {"type": "string"},
                                    "reason": {"type": "string"},
                                },
                            },
                        },
                    },
                },
                "Usage": {"type": "object", "additionalProperties": True},
                "EndpointInput": {
                    "type": "object",
                    "required": ["url", "event_types"],
                    "properties": {
                        "url": {"type": "string", "format": "uri"},
                        "event_types": {
                            "type": "array",
                            "items": {"type": "string", "enum": list(EVENT_TYPES)},
                        },
                        "description": {"type": "string"},
                        "customer_id": {"type": "string"},
                    },
                },
                "Endpoint": {"type": "object", "additionalProperties": True},
            },
        },
    }
