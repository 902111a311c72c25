"""Settings: the one place that reads the environment, into frozen typed objects that fail fast."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_MISSING: Any = object()


class SettingsError(Exception):
    """One or more settings are missing or malformed; the message names every variable at fault."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration: " + "; ".join(problems))


FILE_SUFFIX = "_FILE"
"""A secret setting ``X`` may instead name a file holding its value in ``X_FILE`` (Kubernetes Secret volumes)."""


def setting(
    variable: str,
    *,
    default: Any = _MISSING,
    parse: Callable[[str], Any] = str,
    doc: str = "",
    secret: bool = False,
) -> Any:
    """Declare a dataclass field read from ``variable``; without a default the variable is required.

    A ``secret`` setting is also read from the file named by ``<variable>_FILE`` (one of the two, not both),
    so a secret can be mounted as a file instead of sitting in the process environment.
    """
    metadata = {"variable": variable, "parse": parse, "doc": doc, "secret": secret}
    if default is _MISSING:
        return dataclasses.field(metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def parse_port(raw: str) -> int:
    port = int(raw)
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be 0-65535, got {port}")
    return port


def parse_seconds(raw: str) -> float:
    value = float(raw)
    if value <= 0:
        raise ValueError(f"must be a positive number of seconds, got {raw!r}")
    return value


def parse_byte_count(raw: str) -> int:
    """A request or body size limit: a size as ``parse_size`` reads it, at least 1 KiB."""
    value = parse_size(raw)
    if value < 1024:
        raise ValueError(f"must be a number of bytes, at least 1024, got {raw!r}")
    return value


_SIZE_UNITS = {
    "": 1,
    "B": 1,
    # As nats.conf reads them: its max_file_store of 64MB is 64 MiB, and the two must compare equal.
    "KB": 1024,
    "MB": 1024**2,
    "GB": 1024**3,
    "TB": 1024**4,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
    "TIB": 1024**4,
}


def parse_size(raw: str) -> int:
    """A size in bytes: a whole number, optionally with a unit (``64MB``, ``1GiB``; K/M/G/T are powers of 1024, as in nats.conf)."""
    text = raw.strip().upper().replace(" ", "")
    digits = text.rstrip("KMGTIB")
    unit = text[len(digits) :]
    if unit in {"K", "M", "G", "T"}:
        unit += "B"  # nats.conf's 8G means 8GB
    if not digits.isdigit() or unit not in _SIZE_UNITS:
        raise ValueError(f"expected a size such as 512MB or 1GiB, got {raw!r}")
    size = int(digits) * _SIZE_UNITS[unit]
    if size <= 0:
        raise ValueError(f"must be a positive size, got {raw!r}")
    return size


def parse_optional_size(raw: str) -> int | None:
    return parse_size(raw) if raw.strip() else None


def parse_replicas(raw: str) -> int:
    replicas = int(raw)
    if not 1 <= replicas <= 5:
        raise ValueError(f"JetStream keeps 1 to 5 replicas of a stream, got {replicas}")
    return replicas


def parse_decimal(raw: str) -> Decimal:
    try:
        return Decimal(raw)
    except InvalidOperation as exc:
        raise ValueError(f"expected a decimal number, got {raw!r}") from exc


def parse_optional_path(raw: str) -> Path | None:
    return Path(raw) if raw else None


def parse_optional_text(raw: str) -> str | None:
    return raw or None


def parse_log_format(raw: str) -> str:
    lowered = raw.strip().lower()
    if lowered not in {"json", "text"}:
        raise ValueError(f"expected json or text, got {raw!r}")
    return lowered


def _secret_from_file(variable: str, source: Mapping[str, str]) -> str | None:
    """The content of the file ``<variable>_FILE`` names (one trailing newline dropped), or None if unset."""
    path = source.get(variable + FILE_SUFFIX)
    if not path:
        return None
    if source.get(variable):
        raise ValueError(f"set {variable} or {variable}{FILE_SUFFIX}, not both")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {variable}{FILE_SUFFIX}={path}: {exc}") from None
    return text.removesuffix("\n").removesuffix("\r")


def load(cls: type[T], environ: Mapping[str, str] | None = None) -> T:
    """Build ``cls`` from the environment, reporting every missing or malformed variable at once."""
    source = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    problems: list[str] = []
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        variable = field.metadata.get("variable")
        if variable is None:
            continue
        raw = source.get(variable)
        if field.metadata.get("secret"):
            try:
                raw = _secret_from_file(variable, source) or raw
            except ValueError as exc:
                problems.append(f"{variable} is invalid: {exc}")
                continue
        if raw is None or raw == "":
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                alternative = f" (nor {variable}{FILE_SUFFIX})" if field.metadata.get("secret") else ""
                problems.append(
                    f"{variable} is required ({field.metadata['doc'] or field.name}) but not set{alternative}"
                )
            continue
        try:
            values[field.name] = field.metadata["parse"](raw)
        except (ValueError, TypeError) as exc:
            problems.append(f"{variable} is invalid: {exc}")
    if problems:
        raise SettingsError(problems)
    return cls(**values)


def secret_variables(cls: type) -> set[str]:
    """The variables of ``cls`` that may come from a ``_FILE`` instead (its secrets)."""
    return {field.metadata["variable"] for field in dataclasses.fields(cls) if field.metadata.get("secret")}


def describe(cls: type) -> list[tuple[str, str, str]]:
    """(variable, default or 'required', doc) for each setting, for READMEs and manifest checks."""
    rows = []
    for field in dataclasses.fields(cls):
        variable = field.metadata.get("variable")
        if variable is None:
            continue
        if field.default is not dataclasses.MISSING:
            default = repr(field.default)
        elif field.default_factory is not dataclasses.MISSING:
            default = repr(field.default_factory())
        else:
            default = "required"
        rows.append((variable, default, field.metadata["doc"]))
    return rows


@dataclasses.dataclass(frozen=True)
class MeshSettings:
    """What every Tally service process needs to join the mesh."""

    database_url: str = setting(
        "TALLY_DATABASE_URL", doc="SQLAlchemy URL of this service's own database", secret=True
    )
    """SQLAlchemy URL of this service's own database (sqlite:///path.db or postgresql+psycopg://...); it holds
    the database password, so it may come from the file named by TALLY_DATABASE_URL_FILE instead."""

    nats_url: str = setting("TALLY_NATS_URL", doc="NATS server URL(s), comma separated")
    """NATS server URL(s), comma separated, e.g. nats://127.0.0.1:4222."""

    keyring_path: Path = setting("TALLY_KEYRING", parse=Path, doc="JSON file of hashed API keys and scopes")
    """JSON file of hashed API keys with their scopes; plaintext keys are never stored."""

    service_token: str = setting(
        "TALLY_SERVICE_TOKEN", doc="this service's API key for internal calls", secret=True
    )
    """This service's own API key, sent on every outbound internal call (its service identity); or the file
    named by TALLY_SERVICE_TOKEN_FILE."""

    nats_nkey_seed: str | None = setting(
        "TALLY_NATS_NKEY_SEED", default=None, doc="this process's NATS user nkey seed", secret=True
    )
    """This process's NATS identity: the seed (``SU…``) of its nkey user, usually from the file named by
    TALLY_NATS_NKEY_SEED_FILE. Unset: connect without credentials (only a server without authorization
    accepts that). Its replies then come on the inbox prefix ``_INBOX_<service>``, which only it may read."""

    nats_tls_ca_file: Path | None = setting(
        "TALLY_NATS_TLS_CA_FILE",
        default=None,
        parse=parse_optional_path,
        doc="CA that signs NATS's certificate",
    )
    """PEM CA bundle the NATS server's certificate must chain to; set, the connection is TLS (and presents
    TALLY_TLS_CERT_FILE/TALLY_TLS_KEY_FILE as a client certificate when those are set)."""

    grpc_host: str = setting("TALLY_GRPC_HOST", default="0.0.0.0", doc="address the gRPC server binds")
    """Address the gRPC server binds to."""

    grpc_port: int = setting("TALLY_GRPC_PORT", default=50051, parse=parse_port, doc="gRPC port")
    """Port the gRPC server listens on (0 picks a free one)."""

    max_request_bytes: int | None = setting(
        "TALLY_GRPC_MAX_REQUEST_BYTES",
        default=None,
        parse=parse_byte_count,
        doc="largest gRPC request accepted, in bytes (default: the service's own, 4 MiB; ingestion 8 MiB)",
    )
    """Largest request the gRPC server accepts; a bigger one is refused with RESOURCE_EXHAUSTED unread.
    Unset: the service's own limit (4 MiB, ingestion's 8 MiB for 4 MiB batches)."""

    default_deadline_s: float = setting(
        "TALLY_DEFAULT_DEADLINE_SECONDS", default=10.0, parse=parse_seconds, doc="deadline of outbound calls"
    )
    """Deadline given to every outbound gRPC call that has no tighter one from its caller."""

    shutdown_grace_s: float = setting(
        "TALLY_SHUTDOWN_GRACE_SECONDS", default=10.0, parse=parse_seconds, doc="grace on SIGTERM"
    )
    """Seconds in-flight RPCs get to finish after SIGTERM before they are cancelled."""

    database_statement_timeout_s: float = setting(
        "TALLY_DATABASE_STATEMENT_TIMEOUT_SECONDS",
        default=30.0,
        parse=parse_seconds,
        doc="PostgreSQL statement_timeout of every query",
    )
    """PostgreSQL only: the server cancels a statement running longer; SQLite has no statement
    timeout. A cancelled statement is an outage to the caller: UNAVAILABLE with RetryInfo, or a paused consumer."""

    database_lock_timeout_s: float = setting(
        "TALLY_DATABASE_LOCK_TIMEOUT_SECONDS",
        default=5.0,
        parse=parse_seconds,
        doc="PostgreSQL lock_timeout of every query",
    )
    """PostgreSQL only: the longest a statement waits for a row or table lock, so a long lock
    held elsewhere fails requests fast instead of piling them up. SQLite writers wait up to 30 s instead."""

    migrate_on_start: bool = setting(
        "TALLY_MIGRATE_ON_START", default=True, parse=parse_bool, doc="apply migrations at start"
    )
    """Apply this service's migrations at start (the embedded default); Kubernetes runs a Job instead."""

    trace_export: str | None = setting(
        "TALLY_TRACE_EXPORT", default=None, doc="otlp | console | file:<path> | none, comma separated"
    )
    """Where spans go, comma separated: otlp (standard OTEL_EXPORTER_OTLP_* variables), console,
    file:<path> (JSON lines) or none. Unset: OTEL_TRACES_EXPORTER, else otlp."""

    otel_traces_exporter: str | None = setting(
        "OTEL_TRACES_EXPORTER", default=None, doc="otlp | console | none (when TALLY_TRACE_EXPORT is unset)"
    )
    """The standard OpenTelemetry choice of span exporter, used when TALLY_TRACE_EXPORT is unset."""

    otel_metrics_exporter: str | None = setting(
        "OTEL_METRICS_EXPORTER", default=None, doc="otlp | console | none"
    )
    """Where metrics go; unset: over OTLP when spans go over OTLP, nowhere otherwise."""

    otel_logs_exporter: str | None = setting("OTEL_LOGS_EXPORTER", default=None, doc="otlp | console | none")
    """Where log records go besides stdout; unset: over OTLP when spans go over OTLP, nowhere otherwise."""

    otel_sdk_disabled: bool = setting(
        "OTEL_SDK_DISABLED", default=False, parse=parse_bool, doc="export no telemetry at all"
    )
    """The standard switch that turns every OpenTelemetry signal off (stdout logs stay)."""

    log_format: str = setting(
        "TALLY_LOG_FORMAT", default="json", parse=parse_log_format, doc="json | text (stdout logs)"
    )
    """Logs on stdout: one JSON object per line with trace and span ids (json), or plain lines (text)."""

    health_port: int | None = setting(
        "TALLY_HEALTH_PORT", default=None, parse=parse_port, doc="plaintext port serving only gRPC health"
    )
    """A second port serving only grpc.health.v1, in plaintext, for probes: the kubelet's cannot present a
    client certificate when the gRPC port requires mutual TLS. Unset: health is on the gRPC port only."""

    tls_cert_file: Path | None = setting("TALLY_TLS_CERT_FILE", default=None, parse=parse_optional_path)
    """PEM certificate of this service; with key and CA files set, gRPC uses mutual TLS."""

    tls_key_file: Path | None = setting("TALLY_TLS_KEY_FILE", default=None, parse=parse_optional_path)
    """PEM private key of this service's certificate."""

    tls_ca_file: Path | None = setting("TALLY_TLS_CA_FILE", default=None, parse=parse_optional_path)
    """PEM bundle of the CA that signs every service certificate (peers are verified against it)."""

    stream_replicas: int = setting(
        "TALLY_STREAM_REPLICAS", default=1, parse=parse_replicas, doc="copies of every JetStream stream"
    )
    """Copies JetStream keeps of every stream: 1 on one server (the embedded default), 3 on a three-node
    cluster (the prod overlay), so a lost node loses no acknowledged event."""

    usage_stream_max_bytes: int = setting(
        "TALLY_USAGE_STREAM_MAX_BYTES", default=1024**3, parse=parse_size, doc="USAGE stream size (1GiB)"
    )
    """Most bytes of accepted usage waiting for metering (interest retention frees each batch once every
    consumer acked it): the buffer that covers metering being down. When full, Ingest answers UNAVAILABLE."""

    usage_stream_max_age_s: float = setting(
        "TALLY_USAGE_STREAM_MAX_AGE_SECONDS",
        default=7 * 24 * 3600.0,
        parse=parse_seconds,
        doc="USAGE max age",
    )
    """How long an accepted usage batch may wait for its consumers before the broker drops it."""

    event_stream_max_bytes: int = setting(
        "TALLY_EVENT_STREAM_MAX_BYTES",
        default=256 * 1024**2,
        parse=parse_size,
        doc="each event stream's size",
    )
    """Most bytes of each business-event stream (METERING, CATALOG, ...); when full, the outbox holds
    events back (nothing is dropped) until the oldest age out."""

    event_stream_max_age_s: float = setting(
        "TALLY_EVENT_STREAM_MAX_AGE_SECONDS",
        default=90 * 24 * 3600.0,
        parse=parse_seconds,
        doc="event max age",
    )
    """How long business events are kept (a consumer down for weeks still finds what it missed)."""

    jetstream_store_bytes: int | None = setting(
        "TALLY_JETSTREAM_STORE_BYTES",
        default=None,
        parse=parse_optional_size,
        doc="each server's max_file_store",
    )
    """The JetStream file store of each NATS server (its max_file_store): when set, a service refuses to
    start unless every stream Tally declares fits in it at its full size."""
