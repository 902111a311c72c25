"""The mapping file: one TOML table per enabled ERP, checked as a whole at start and read again on RetrySync."""

from __future__ import annotations

import threading
import tomllib
from pathlib import Path

from tally.erp_sync.domain import Erp
from tally.erp_sync.mapping import ErpMapping, MappingError, parse_mapping


def load_mappings(path: Path, erps: tuple[Erp, ...]) -> dict[Erp, ErpMapping]:
    """Every ERP's mapping from ``path``; MappingError names the file and each problem."""
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as exc:
        raise MappingError([f"{path}: cannot be read ({exc.strerror or exc})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingError([f"{path}: not valid TOML ({exc})"]) from None
    mappings: dict[Erp, ErpMapping] = {}
    problems: list[str] = []
    for erp in erps:
        try:
            mappings[erp] = parse_mapping(erp, raw.get(erp.value.lower()))
        except MappingError as exc:
            problems += [f"{path}: {problem}" for problem in exc.problems]
    if problems:
        raise MappingError(problems)
    return mappings


class MappingFile:
    """The mappings in force; ``reload`` swaps them only if the whole file is valid."""

    def __init__(self, path: Path, erps: tuple[Erp, ...]) -> None:
        self._path = path
        self._erps = erps
        self._lock = threading.Lock()
        self._mappings = load_mappings(path, erps)

    def current(self, erp: Erp) -> ErpMapping:
        with self._lock:
            return self._mappings[erp]

    def reload(self) -> None:
        mappings = load_mappings(self._path, self._erps)
        with self._lock:
            self._mappings = mappings
