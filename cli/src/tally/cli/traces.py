"""Reading the spans services wrote as JSON lines and printing one trace as a tree across services."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SpanRecord:
    """One finished span as the file exporter wrote it."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    service: str
    start_ns: int
    end_ns: int
    status: str

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6


def read_spans(files: Iterable[Path]) -> list[SpanRecord]:
    spans = []
    for path in files:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            raw = json.loads(line)
            spans.append(
                SpanRecord(
                    trace_id=raw["trace_id"],
                    span_id=raw["span_id"],
                    parent_span_id=raw.get("parent_span_id"),
                    name=raw["name"],
                    kind=str(raw.get("kind", "")).removeprefix("SpanKind."),
                    service=raw.get("service", "?"),
                    start_ns=int(raw["start_time_unix_nano"]),
                    end_ns=int(raw["end_time_unix_nano"]),
                    status=str((raw.get("status") or {}).get("code", "UNSET")),
                )
            )
    return spans


def render_tree(spans: list[SpanRecord], trace_id: str) -> str:
    """The spans of ``trace_id`` as an indented tree, children in start order."""
    mine = [span for span in spans if span.trace_id == trace_id]
    if not mine:
        return f"trace {trace_id}: no spans recorded"
    by_id = {span.span_id: span for span in mine}
    children: dict[str | None, list[SpanRecord]] = defaultdict(list)
    for span in mine:
        parent = span.parent_span_id if span.parent_span_id in by_id else None
        children[parent].append(span)
    for kids in children.values():
        kids.sort(key=lambda span: span.start_ns)
    services = sorted({span.service for span in mine})
    lines = [f"trace {trace_id}: {len(mine)} spans across {', '.join(services)}"]

    def walk(span: SpanRecord, prefix: str, last: bool) -> None:
        branch = "└─ " if last else "├─ "
        lines.append(
            f"{prefix}{branch}{span.name}  [{span.service}, {span.kind.lower()}] {span.duration_ms:.1f} ms"
            + (
                ""
                if span.status in {"UNSET", "OK", "StatusCode.UNSET", "StatusCode.OK"}
                else f"  {span.status}"
            )
        )
        kids = children.get(span.span_id, [])
        for index, kid in enumerate(kids):
            walk(kid, prefix + ("   " if last else "│  "), index == len(kids) - 1)

    roots = children.get(None, [])
    for index, root in enumerate(roots):
        walk(root, "", index == len(roots) - 1)
    return "\n".join(lines)
