"""deploy/ and the Tiltfile pass scripts/k8s_check.py, and each kind of mistake makes it fail by name."""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]


def _load_check():
    spec = importlib.util.spec_from_file_location("k8s_check", ROOT / "scripts" / "k8s_check.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


k8s_check = _load_check()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of deploy/, tilt/ and the Tiltfile; the sources they reference are linked, not copied."""
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    shutil.copytree(ROOT / "tilt", tmp_path / "tilt", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "Tiltfile", tmp_path / "Tiltfile")
    for name in ("libs", "services", "cli", "proto", "pyproject.toml", "uv.lock"):
        (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


def run_check(tree: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = k8s_check.main(["--k8s-dir", str(tree / "deploy" / "k8s"), "--tiltfile", str(tree / "Tiltfile")])
    return code, capsys.readouterr().out


def edit_yaml(path: Path, edit) -> None:
    documents = list(yaml.safe_load_all(path.read_text()))
    for document in documents:
        edit(document)
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False))


def test_the_real_tree_passes(capsys: pytest.CaptureFixture[str]) -> None:
    code = k8s_check.main([])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "ok" in out


def test_the_copied_tree_passes(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_check(tree, capsys)
    assert code == 0, out


def test_a_missing_readiness_probe_fails_naming_the_deployment(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def drop_probe(deployment: dict) -> None:
        del deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]

    edit_yaml(tree / "deploy/k8s/base/metering/deployment.yaml", drop_probe)
    code, out = run_check(tree, capsys)
    assert code == 1
    assert re.search(r"overlays/dev: Deployment/metering container metering: missing readinessProbe", out), (
        out
    )
    assert re.search(r"overlays/prod: Deployment/metering container metering: missing readinessProbe", out), (
        out
    )


def test_an_unknown_container_field_fails_naming_it(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def add_field(deployment: dict) -> None:
        deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"grpc": {"port": 50051}}

    edit_yaml(tree / "deploy/k8s/base/catalog/deployment.yaml", add_field)
    code, out = run_check(tree, capsys)
    assert code == 1
    assert "Deployment/catalog: spec.template.spec.containers[0]" in out, out
    assert "'readinesProbe' was unexpected" in out, out


def test_a_tiltfile_path_that_does_not_exist_fails_naming_it(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extension = tree / "tilt" / "tally.star"
    extension.write_text(
        extension.read_text().replace('"deploy/k8s/overlays/dev"', '"deploy/k8s/overlays/devel"')
    )
    code, out = run_check(tree, capsys)
    assert code == 1
    assert f"kustomize references {tree}/deploy/k8s/overlays/devel, which does not exist" in out, out


def test_a_tiltfile_loading_a_missing_extension_fails_naming_it(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiltfile = tree / "Tiltfile"
    tiltfile.write_text(tiltfile.read_text().replace("./tilt/tally.star", "./tilt/tally_ext.star"))
    code, out = run_check(tree, capsys)
    assert code == 1
    assert "tilt/tally_ext.star" in out, out


def test_a_dropped_required_setting_fails_naming_the_variable(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mesh = tree / "deploy/k8s/base/mesh/kustomization.yaml"
    mesh.write_text(re.sub(r"\n\s+- TALLY_NATS_URL=.*", "", mesh.read_text()))
    code, out = run_check(tree, capsys)
    assert code == 1
    assert re.search(r"Deployment/ingestion initContainer migrate: required setting TALLY_NATS_URL", out), out
    assert re.search(r"Deployment/erp-sync container erp-sync: required setting TALLY_NATS_URL", out), out


def test_a_secret_missing_the_referenced_key_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = tree / "deploy/k8s/components/dev-credentials/quoting.env"
    env.write_text("\n".join(line for line in env.read_text().splitlines() if "SERVICE_TOKEN" not in line))
    code, out = run_check(tree, capsys)
    assert code == 1
    assert (
        "env TALLY_SERVICE_TOKEN names key TALLY_SERVICE_TOKEN missing from Secret quoting-secrets" in out
    ), out


def test_a_writable_root_filesystem_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    statefulset = tree / "deploy/k8s/base/nats/statefulset.yaml"
    statefulset.write_text(
        statefulset.read_text().replace("readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false")
    )
    code, out = run_check(tree, capsys)
    assert code == 1
    assert "StatefulSet/nats container nats: securityContext.readOnlyRootFilesystem is not true" in out, out


# --- the image ------------------------------------------------------------------------------------------


def dockerfile_stages(text: str) -> list[dict]:
    """Stages in order: name, base and instructions (continuation lines joined, comments dropped)."""
    logical = re.sub(r"\\\n", " ", text)
    stages: list[dict] = []
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if keyword.upper() == "FROM":
            parts = rest.split()
            name = parts[parts.index("AS") + 1] if "AS" in parts else None
            stages.append({"name": name, "base": parts[0], "instructions": []})
        elif stages:
            stages[-1]["instructions"].append((keyword.upper(), rest.strip()))
    return stages


def effective(stages: list[dict], stage: dict, keyword: str) -> str | None:
    """The last value of ``keyword`` in ``stage``, following FROM back through earlier stages."""
    by_name = {s["name"]: s for s in stages if s["name"]}
    while stage is not None:
        values = [rest for kw, rest in stage["instructions"] if kw == keyword]
        if values:
            return values[-1]
        stage = by_name.get(stage["base"])
    return None


def test_the_image_runs_the_service_module_as_a_numeric_non_root_user() -> None:
    stages = dockerfile_stages((ROOT / "deploy" / "Dockerfile").read_text())
    runtime = stages[-1]  # the default target
    assert runtime["name"] == "runtime"
    assert stages[0]["base"].startswith("${PYTHON_IMAGE}")
    assert re.search(r"ARG PYTHON_IMAGE=python:3\.11-slim", (ROOT / "deploy" / "Dockerfile").read_text())
    for stage in (runtime, next(s for s in stages if s["name"] == "dev")):
        user = effective(stages, stage, "USER")
        assert user is not None and re.fullmatch(r"\d+(:\d+)?", user), user
        assert user.split(":")[0] != "0"
    entrypoint = effective(stages, runtime, "ENTRYPOINT")
    assert entrypoint is not None and 'exec python -m \\"${TALLY_SERVICE_MODULE}\\" \\"$@\\"' in entrypoint
    env = " ".join(
        rest for kw, rest in next(s for s in stages if s["name"] == "app")["instructions"] if kw == "ENV"
    )
    assert "TALLY_SERVICE_MODULE=tally.${SERVICE}" in env
    build = " ".join(rest for kw, rest in stages[0]["instructions"] if kw == "RUN")
    assert "uv sync --frozen --no-dev --package" in build


def test_the_image_keeps_the_migrations_where_the_service_looks_for_them() -> None:
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    # Path(tally.<service>.__file__).parents[3] / "migrations" == /app/services/<service>/migrations
    assert "COPY --from=build /app/services/${SERVICE} /app/services/${SERVICE}" in text
    for service in k8s_check.tally_services():
        module = ROOT / "services" / service / "src" / "tally" / service / "__main__.py"
        assert module.parents[3] / "migrations" == ROOT / "services" / service / "migrations"
        assert (ROOT / "services" / service / "migrations").is_dir()
