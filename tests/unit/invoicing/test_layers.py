"""Invoicing's layers contract (root pyproject.toml) as import-linter applies it: every invoicing module has a layer,
and the contract breaks when a domain module imports a store.

The contract is run by lint-imports on a probe package with the same module names (each module empty but for
the imports a test gives it), so what is checked is the contract as written, not a copy of it.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import tally.invoicing

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = Path(tally.invoicing.__file__).resolve().parent
CONTAINER = "tally.invoicing"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _contract() -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [layers] = [
        c
        for c in config["tool"]["importlinter"]["contracts"]
        if c["type"] == "layers" and c.get("containers") == [CONTAINER]
    ]
    return layers


def _layered_modules(contract: dict) -> set[str]:
    return {
        name.strip().strip("()")
        for layer in contract["layers"]
        for name in layer.replace("|", ":").split(":")
    }


def _modules() -> set[str]:
    """Every invoicing module, relative to the package (``billing.runs``), packages' ``__init__`` left out."""
    return {
        ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        for path in PACKAGE.rglob("*.py")
        if path.name != "__init__.py"
    }


def test_every_invoicing_module_but_its_settings_has_a_layer():
    layered = _layered_modules(_contract())
    assert _modules() - layered == {"settings"}
    assert layered - _modules() == set()


def _lint_probe(tmp_path: Path, imports: dict[str, list[str]]) -> subprocess.CompletedProcess[str]:
    """lint-imports with the invoicing layers contract over ``probe.invoicing``: the same modules, each importing
    only what ``imports`` gives it (relative names)."""
    contract = _contract()
    package = tmp_path / "probe" / "invoicing"
    for module in _modules():
        path = package.joinpath(*module.split(".")).with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in [path.parent, *path.parent.parents]:
            if parent == tmp_path:
                break
            (parent / "__init__.py").touch()
        path.write_text("".join(f"import probe.invoicing.{name}\n" for name in imports.get(module, [])))
    layers = ",\n".join(f'    "{layer}"' for layer in contract["layers"])
    (tmp_path / "importlinter.toml").write_text(
        f"""[tool.importlinter]
root_packages = ["probe"]

[[tool.importlinter.contracts]]
name = "probe layers"
type = "layers"
containers = ["probe.invoicing"]
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
def test_the_layers_contract_breaks_when_a_domain_module_imports_a_store(tmp_path):
    inward = {
        "server": ["handlers"],
        "handlers": ["ports", "domain"],
        "transactions": ["store", "billing.store"],
        "billing.store": ["store", "billing.drafting"],
    }
    kept = _lint_probe(tmp_path / "kept", inward)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "probe layers KEPT" in kept.stdout

    broken = _lint_probe(tmp_path / "broken", {**inward, "billing.drafting": ["billing.store"]})
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "probe layers BROKEN" in broken.stdout
    assert "probe.invoicing.billing.drafting -> probe.invoicing.billing.store" in broken.stdout
