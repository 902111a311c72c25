"""Pins the prod overlay's images by digest: each ``newName:newTag`` resolved to the digest the registry serves.

Run as ``make pin-images`` (optionally ``TAG=0.2.0`` to move Tally's own images to a release first). The
digest comes from the first of ``crane``, ``skopeo`` or ``docker buildx imagetools`` found on PATH, each asking
the registry with the credentials it already has; with none of them, or when one cannot resolve an image, it
stops naming what is missing and changes nothing. Only the ``newTag:`` and ``digest:`` lines are rewritten, so
the file's comments and order stay as they are.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
TALLY_IMAGES = "tally-"
"""Images Tally builds itself; ``--tag`` moves these (NATS keeps its own version)."""


class PinError(Exception):
    """Digests cannot be resolved; the message says what is missing."""


def _crane(ref: str) -> list[str]:
    return ["crane", "digest", ref]


def _skopeo(ref: str) -> list[str]:
    return ["skopeo", "inspect", "--format", "{{.Digest}}", f"docker://{ref}"]


def _buildx(ref: str) -> list[str]:
    return ["docker", "buildx", "imagetools", "inspect", ref, "--format", "{{json .Manifest}}"]


RESOLVERS: tuple[tuple[str, Callable[[str], list[str]]], ...] = (
    ("crane", _crane),
    ("skopeo", _skopeo),
    ("docker", _buildx),
)


def _usable(tool: str) -> bool:
    if shutil.which(tool) is None:
        return False
    if tool != "docker":
        return True
    # docker without the buildx plugin cannot inspect a registry's manifests.
    probe = subprocess.run(["docker", "buildx", "version"], capture_output=True, check=False, timeout=30)
    return probe.returncode == 0


def find_resolver() -> tuple[str, Callable[[str], list[str]]]:
    for tool, command in RESOLVERS:
        if _usable(tool):
            return tool, command
    raise PinError(
        "cannot resolve image digests: none of crane, skopeo or docker (buildx imagetools) is on PATH; "
        "install one, log it in to the registry, and run make pin-images again"
    )


def resolve(ref: str, resolver: tuple[str, Callable[[str], list[str]]]) -> str:
    """The ``sha256:…`` digest the registry serves for ``ref`` (the manifest list for multi-arch images)."""
    tool, command = resolver
    result = subprocess.run(command(ref), capture_output=True, text=True, check=False, timeout=120)
    if result.returncode != 0:
        raise PinError(f"{tool} could not resolve {ref}: {result.stderr.strip() or result.stdout.strip()}")
    out = result.stdout.strip()
    digest = str(json.loads(out).get("digest", "")) if out.startswith("{") else out
    if not DIGEST.match(digest):
        raise PinError(f"{tool} answered {out!r} for {ref}, not a sha256 digest")
    return digest


def pin(kustomization: Path, tag: str | None, resolver: tuple[str, Callable[[str], list[str]]]) -> list[str]:
    """Resolve every ``images:`` entry and rewrite the file; returns one line per image pinned."""
    entries = (yaml.safe_load(kustomization.read_text()) or {}).get("images") or []
    if not entries:
        raise PinError(f"{kustomization} has no images: to pin")
    pins: dict[str, tuple[str, str]] = {}
    for entry in entries:
        name = entry["name"]
        if "digest" not in entry:
            raise PinError(f"{kustomization}: image {name} has no digest: line for the digest")
        new_tag = tag if tag and name.startswith(TALLY_IMAGES) else entry.get("newTag")
        if not new_tag:
            raise PinError(f"{kustomization}: image {name} has no newTag to resolve")
        ref = f"{entry.get('newName', name)}:{new_tag}"
        pins[name] = (new_tag, resolve(ref, resolver))
    lines = kustomization.read_text().splitlines(keepends=True)
    current: str | None = None
    for index, line in enumerate(lines):
        started = re.match(r"^\s*-\s+name:\s*(\S+)\s*$", line)
        if started:
            current = started.group(1)
            continue
        field = re.match(r"^(\s+)(newTag|digest):\s*\S+\s*$", line)
        if field and current in pins:
            value = pins[current][0] if field.group(2) == "newTag" else pins[current][1]
            lines[index] = f"{field.group(1)}{field.group(2)}: {value}\n"
    kustomization.write_text("".join(lines))
    return [f"{name}: {new_tag}@{digest}" for name, (new_tag, digest) in pins.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--overlay",
        type=Path,
        default=ROOT / "deploy" / "k8s" / "overlays" / "prod",
        help="overlay directory",
    )
    parser.add_argument("--tag", help="release tag for Tally's own images (tally-*) before resolving")
    args = parser.parse_args(argv)
    try:
        pinned = pin(args.overlay / "kustomization.yaml", args.tag, find_resolver())
    except PinError as exc:
        print(f"pin-images: {exc}", file=sys.stderr)
        return 1
    for line in pinned:
        print(f"pin-images: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
