"""Each service's layers contract (root pyproject.toml) as import-linter applies it: every module of the service has a
layer (its settings aside), and the contract breaks when a domain module imports a store.

The contract is run by lint-imports on a probe package with the same module names (each module empty but for
the imports a test gives it), so what is checked is the contract as written, not a copy of it.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


@dataclass(frozen=True)
class Service:
    name: str
    unlayered: frozenset[str]
    """Modules deliberately outside the layers (settings: read by the composition root only)."""
    inward: dict[str, list[str]]
    """Imports that follow the layers (kept)."""
    leak: tuple[str, str]
    """A domain module importing a store: must break the contract."""

    @property
    def container(self) -> str:
        return f"tally.{self.name}"

    @property
    def package(self) -> Path:
        return Path(importlib.import_module(self.container).__file__ or "").resolve().parent


SERVICES = [
    Service(
        "invoicing",
        frozenset({"settings"}),
        {
            "server": ["handlers"],
            "handlers": ["ports", "domain"],
            "transactions": ["store", "billing.store"],
            "billing.store": ["store", "billing.drafting"],
        },
        ("billing.drafting", "billing.store"),
    ),
    Service(
        "catalog",
        frozenset({"settings"}),
        {"server": ["handlers", "messages"], "handlers": ["store", "events"], "store": ["domain.plans"]},
        ("domain.plans", "store"),
    ),
    Service(
        "quoting",
        frozenset({"settings"}),
        {"server": ["handlers"], "handlers": ["store", "domain.quotes"], "store": ["domain.terms"]},
        ("domain.quotes", "store"),
    ),
    Service(
        "erp_sync",
        frozenset({"events"}),
        {"server": ["handlers"], "poster": ["adapters.netsuite_soap", "store"], "store": ["posting"]},
        ("posting", "store"),
    ),
    Service(
        "gateway",
        frozenset({"settings"}),
        {
            "web.api": ["reads"],
            "reads": ["webhook_store", "peers"],
            "webhook_store": ["tables", "domain.webhooks"],
        },
        ("domain.webhooks", "webhook_store"),
    ),
    Service(
        "metering",
        frozenset({"settings"}),
        {
            "server": ["handlers", "queries", "event_store"],
            "queries": ["usage_store", "event_store", "aggregation"],
            "corrections": ["corrections_store", "handlers"],
            "corrections_store": ["closed_periods", "event_store", "store"],
            "recording.usage_recording": ["recording.sqlite", "recording.prepared"],
            "recording.sqlite": ["recording.writer", "recording.rows", "store"],
            "recording.prepared": ["recording.payload", "rollup_fold"],
        },
        ("recording.prepared", "recording.sqlite"),
    ),
    Service(
        "insights",
        frozenset({"settings"}),
        {"server": ["forecasts"], "forecasts": ["forecasting"], "store": ["scanning"]},
        ("detection", "store"),
    ),
    Service(
        "ingestion",
        frozenset({"settings"}),
        {
            "server": ["handlers", "domain"],
            "events": ["value_properties"],
            "handlers": ["store", "publisher", "rejection_buffer", "rate_limits"],
            "value_properties": ["store"],
            "store": ["domain"],
        },
        ("domain", "store"),
    ),
]


def _contract(service: Service) -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [layers] = [
        c
        for c in config["tool"]["importlinter"]["contracts"]
        if c["type"] == "layers" and c.get("containers") == [service.container]
    ]
    return layers


def _layered_modules(contract: dict) -> set[str]:
    return {
        name.strip().strip("()")
        for layer in contract["layers"]
        for name in layer.replace("|", ":").split(":")
    }


def _modules(service: Service) -> set[str]:
    """Every module of the service, relative to its package (``billing.runs``); a package stands for its
    ``__init__`` only when its parent is not layered as a whole."""
    package = service.package
    return {
        ".".join(path.relative_to(package).with_suffix("").parts)
        for path in package.rglob("*.py")
        if path.name != "__init__.py"
    }


def _covered(module: str, layered: set[str]) -> bool:
    """Whether ``module`` is in a layer itself or inside a layered package (``adapters.intacct``)."""
    parts = module.split(".")
    return any(".".join(parts[:end]) in layered for end in range(1, len(parts) + 1))


@pytest.mark.parametrize("service", SERVICES, ids=[s.name for s in SERVICES])
def test_every_module_but_the_settings_has_a_layer(service):
    layered = _layered_modules(_contract(service))
    modules = _modules(service)
    assert {m for m in modules if not _covered(m, layered)} == set(service.unlayered)
    packages = {".".join(m.split(".")[:end]) for m in modules for end in range(1, m.count(".") + 1)}
    assert layered - modules - packages == set()


def _lint_probe(
    service: Service, tmp_path: Path, imports: dict[str, list[str]]
) -> subprocess.CompletedProcess[str]:
    """lint-imports with the service's layers contract over ``probe.<service>``: the same modules, each importing
    only what ``imports`` gives it (relative names)."""
    contract = _contract(service)
    package = tmp_path / "probe" / service.name
    for module in _modules(service):
        path = package.joinpath(*module.split(".")).with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in [path.parent, *path.parent.parents]:
            if parent == tmp_path:
                break
            (parent / "__init__.py").touch()
        path.write_text("".join(f"import probe.{service.name}.{name}\n" for name in imports.get(module, [])))
    layers = ",\n".join(f'    "{layer}"' for layer in contract["layers"])
    (tmp_path / "importlinter.toml").write_text(
        f"""[tool.importlinter]
root_packages = ["probe"]

[[tool.importlinter.contracts]]
name = "probe layers"
type = "layers"
containers = ["probe.{service.name}"]
layers = [
{layers}
]
"""
    )
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", "importlinter.toml", "--no-cache"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="lint-imports is installed with the dev dependencies")
@pytest.mark.parametrize("service", SERVICES, ids=[s.name for s in SERVICES])
def test_the_layers_contract_breaks_when_a_domain_module_imports_a_store(service, tmp_path):
    kept = _lint_probe(service, tmp_path / "kept", service.inward)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "probe layers KEPT" in kept.stdout

    domain, store = service.leak
    broken = _lint_probe(service, tmp_path / "broken", {**service.inward, domain: [store]})
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "probe layers BROKEN" in broken.stdout
    assert f"probe.{service.name}.{domain} -> probe.{service.name}.{store}" in broken.stdout
