"""Restart-on-touch wrapper for Tilt's live_update: runs a command, restarts it when a trigger file changes.

The dev image's entrypoint. After live_update syncs sources, `run('touch /tmp/.restart-proc')` makes
this process stop the service (SIGTERM, then SIGKILL after a grace period) and start it again, so the
new code runs without rebuilding the image. A command that exits on its own (``migrate``) ends the wrapper
with the same exit code. Written here because Tilt's restart_process extension is not vendored.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

TRIGGER = "/tmp/.restart-proc"  # tilt/tally.star touches it after syncing
GRACE_SECONDS = 15.0
POLL_SECONDS = 0.5


def _mtime() -> float | None:
    try:
        return os.stat(TRIGGER).st_mtime
    except FileNotFoundError:
        return None


def _stop(child: subprocess.Popen[bytes]) -> int:
    child.terminate()
    try:
        return child.wait(GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        return child.wait()


def main(command: list[str]) -> int:
    if not command:
        print("usage: restart_wrapper.py COMMAND [ARG...]", file=sys.stderr)
        return 2
    stopping = False

    def forward(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    seen = _mtime()
    child = subprocess.Popen(command)
    while True:
        if stopping:
            return _stop(child)
        code = child.poll()
        if code is not None:
            return code
        current = _mtime()
        if current != seen:
            seen = current
            print(f"restart_wrapper: {TRIGGER} changed, restarting {' '.join(command)}", flush=True)
            _stop(child)
            child = subprocess.Popen(command)
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
