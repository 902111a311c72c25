"""Who may do what on NATS: one nkey identity per process and the least-privilege permissions each one holds.

Every service connects with its own NATS user (an ed25519 nkey; the server stores only the public key). The
server config this module renders lets each identity publish only the subjects its service owns, declare
only the streams it declares in code, drive only its own durable consumers, dead-letter only what it
consumes, and read replies only on its own inbox prefix. A process holding ingestion's seed can forge usage;
one holding any other seed cannot, and a client holding none cannot even connect.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import nkeys

from tally.mesh import streams
from tally.mesh.jetstream import StreamSpec, dlq_spec, dlq_subject

__all__ = [
    "BY_NAME",
    "IDENTITIES",
    "OPERATOR",
    "ConsumerGrant",
    "NatsIdentity",
    "authorization_block",
    "generate_seed",
    "inbox_prefix",
    "permissions",
    "public_key",
    "write_seeds",
]

_JS_API = "$JS.API"


@dataclass(frozen=True)
class ConsumerGrant:
    """A durable pull consumer an identity may create, read and ack (and whose failures it dead-letters)."""

    stream: str
    durable: str
    filter_subject: str


@dataclass(frozen=True)
class NatsIdentity:
    """One process's NATS user: what it publishes, the streams it declares, the consumers it drives."""

    name: str
    """The service name (``ingestion``); also the user's inbox prefix ``_INBOX_<name>``."""
    publishes: tuple[str, ...] = ()
    """Subjects (wildcards allowed) of the events this identity publishes."""
    streams: tuple[StreamSpec, ...] = ()
    """Streams (and their dead-letter streams) it may create, update and read the info of at start."""
    consumers: tuple[ConsumerGrant, ...] = ()
    subscribes: tuple[str, ...] = ()
    """Core NATS subscriptions besides its inbox (invoicing's usage signals)."""
    everything: bool = False
    """The operator: every subject and every JetStream API call (admin tooling, never a service)."""


def inbox_prefix(name: str) -> str:
    """The identity's own reply prefix: no other identity may subscribe to it, so none reads its replies."""
    return f"_INBOX_{name.replace('-', '_')}"


def _consumers(*grants: tuple[StreamSpec, str, str]) -> tuple[ConsumerGrant, ...]:
    return tuple(ConsumerGrant(stream.name, durable, subject) for stream, durable, subject in grants)


_USAGE_BATCHES = f"{streams.USAGE_BATCHES}.>"

IDENTITIES: tuple[NatsIdentity, ...] = (
    NatsIdentity(
        "ingestion",
        publishes=(_USAGE_BATCHES,),
        streams=(streams.USAGE, streams.METERING),
        consumers=_consumers((streams.METERING, "ingestion-meter-projection", streams.METER_CHANGED)),
    ),
    NatsIdentity(
        "metering",
        publishes=("tally.metering.>",),
        streams=(streams.USAGE, streams.METERING, streams.INVOICING),
        consumers=_consumers(
            (streams.USAGE, "metering-usage", _USAGE_BATCHES),
            (streams.INVOICING, "metering-invoice-finalized", streams.INVOICE_FINALIZED),
        ),
    ),
    NatsIdentity(
        "catalog",
        publishes=("tally.catalog.>",),
        streams=(streams.CATALOG, streams.QUOTING),
        consumers=_consumers((streams.QUOTING, "catalog-quotes", streams.QUOTE_ACCEPTED)),
    ),
    NatsIdentity(
        "quoting",
        publishes=("tally.quoting.>",),
        streams=(streams.QUOTING, streams.CATALOG),
        consumers=_consumers((streams.CATALOG, "quoting-subscriptions", streams.SUBSCRIPTION_CHANGED)),
    ),
    NatsIdentity(
        "invoicing",
        publishes=("tally.invoicing.>",),
        streams=(streams.INVOICING, streams.ERP, streams.METERING),
        consumers=_consumers(
            (streams.INVOICING, "invoicing-delivery-invoices", streams.INVOICE_FINALIZED),
            (streams.INVOICING, "invoicing-delivery-credit-notes", streams.CREDIT_NOTE_ISSUED),
            (streams.ERP, "invoicing-payments", streams.PAYMENT_RECORDED),
            (streams.METERING, "invoicing-usage-late", streams.USAGE_LATE),
        ),
        # Spending alerts listen to new batches as a signal (core NATS, read only).
        subscribes=(_USAGE_BATCHES,),
    ),
    NatsIdentity(
        "erp_sync",
        publishes=("tally.erp.>",),
        streams=(streams.INVOICING, streams.ERP),
        consumers=_consumers(
            (streams.INVOICING, "erp-sync-invoices", streams.INVOICE_FINALIZED),
            (streams.INVOICING, "erp-sync-credit-notes", streams.CREDIT_NOTE_ISSUED),
        ),
    ),
    NatsIdentity(
        "gateway",
        publishes=("tally.gateway.>",),
        streams=(*streams.ALL, streams.GATEWAY),
        consumers=_consumers(
            (streams.INVOICING, "gateway-webhooks-invoice-finalized", streams.INVOICE_FINALIZED),
            (streams.INVOICING, "gateway-webhooks-invoice-paid", streams.INVOICE_PAID),
            (streams.INVOICING, "gateway-webhooks-credit-note-issued", streams.CREDIT_NOTE_ISSUED),
            (streams.INVOICING, "gateway-webhooks-alert-triggered", streams.ALERT_TRIGGERED),
            (streams.METERING, "gateway-webhooks-usage-late", streams.USAGE_LATE),
            (streams.QUOTING, "gateway-webhooks-quote-accepted", streams.QUOTE_ACCEPTED),
            (streams.ERP, "gateway-webhooks-payment-recorded", streams.PAYMENT_RECORDED),
        ),
    ),
    NatsIdentity(
        "insights",
        publishes=("tally.insights.>",),
        streams=(streams.USAGE, streams.METERING, streams.INSIGHTS),
        consumers=_consumers(
            (streams.USAGE, "insights-usage-activity", _USAGE_BATCHES),
            (streams.METERING, "insights-late-usage", streams.USAGE_LATE),
        ),
    ),
)
"""Every service's identity. A test checks it against the consumers and subjects the services declare."""

OPERATOR = NatsIdentity("operator", everything=True)
"""The CLI's and an operator's identity (inspecting streams, replaying dead letters): everything."""

BY_NAME: Mapping[str, NatsIdentity] = {identity.name: identity for identity in (*IDENTITIES, OPERATOR)}


def permissions(identity: NatsIdentity) -> dict[str, dict[str, list[str]]]:
    """The nats-server ``permissions`` block of ``identity``: allow lists only, everything else denied."""
    if identity.everything:
        return {"publish": {"allow": [">"]}, "subscribe": {"allow": [">"]}}
    # $JS.API.INFO: the account's limits, which every service reads at start to check its streams fit.
    publish: list[str] = [*identity.publishes, f"{_JS_API}.INFO"]
    for spec in identity.streams:
        for declared in (spec, dlq_spec(spec)):
            publish += [f"{_JS_API}.STREAM.{verb}.{declared.name}" for verb in ("CREATE", "UPDATE", "INFO")]
        # A stream on interest retention is declared with the consumers it keeps messages for (USAGE with
        # metering's): whoever declares the stream declares them too, but may not read from them.
        for consumer in spec.consumers:
            at = f"{spec.name}.{consumer.durable}"
            publish += [
                f"{_JS_API}.CONSUMER.CREATE.{at}",
                f"{_JS_API}.CONSUMER.CREATE.{at}.>",
                f"{_JS_API}.CONSUMER.DURABLE.CREATE.{at}",
                f"{_JS_API}.CONSUMER.INFO.{at}",
            ]
    for grant in identity.consumers:
        at = f"{grant.stream}.{grant.durable}"
        publish += [
            # nats-py names the filter in the create subject (CREATE.<stream>.<durable>.<filter>).
            f"{_JS_API}.CONSUMER.CREATE.{at}",
            f"{_JS_API}.CONSUMER.CREATE.{at}.>",
            f"{_JS_API}.CONSUMER.DURABLE.CREATE.{at}",
            f"{_JS_API}.CONSUMER.INFO.{at}",
            f"{_JS_API}.CONSUMER.MSG.NEXT.{at}",
            f"$JS.ACK.{at}.>",
            dlq_subject(grant.filter_subject),
        ]
    subscribe = [f"{inbox_prefix(identity.name)}.>", *identity.subscribes]
    return {"publish": {"allow": _unique(publish)}, "subscribe": {"allow": _unique(subscribe)}}


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def generate_seed() -> str:
    """A new user nkey seed (``SU…``): the private half, which only the identity's process may read."""
    return nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER).decode()


def public_key(seed: str) -> str:
    """The user's public key (``U…``), the only part the server's config holds."""
    key_pair = nkeys.from_seed(bytearray(seed.strip().encode()))
    try:
        return str(key_pair.public_key.decode())
    finally:
        key_pair.wipe()


def authorization_block(public_keys: Mapping[str, str]) -> str:
    """The nats.conf ``authorization`` block admitting exactly these identities (name → public key).

    Strings are JSON-quoted: nats.conf would read an unquoted ``$JS.API…`` as a variable reference.
    """
    lines = ["authorization {", "  users = ["]
    for name, key in public_keys.items():
        lines.append(f"    # {name}")
        lines.append(
            f"    {{nkey: {json.dumps(key)}, permissions: {json.dumps(permissions(BY_NAME[name]))}}}"
        )
    lines += ["  ]", "}", ""]
    return "\n".join(lines)


def write_seeds(directory: Path, names: Iterable[str]) -> dict[str, Path]:
    """Create ``<name>.nk`` (mode 0600) for each identity that has none; keep existing ones. Name → path."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name in names:
        path = directory / f"{name}.nk"
        if not path.exists():
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(generate_seed() + "\n")
        paths[name] = path
    return paths
