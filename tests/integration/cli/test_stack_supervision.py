"""`tally up` supervises: a crashed process is logged and restarted with backoff; the others keep running."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tally.cli.stack import Stack, StackConfig, Supervised


def supervised_stack(tmp_path: Path) -> tuple[Stack, list[str]]:
    lines: list[str] = []
    stack = Stack(StackConfig(data_dir=tmp_path), out=lines.append)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "metering.log").write_text("metering: Fatal Python error: Segmentation fault\n")

    def crashing() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])

    def steady() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])

    stack.processes = {"metering": crashing(), "catalog": steady()}
    stack.supervised = {"metering": Supervised(crashing, started_at=0.0), "catalog": Supervised(steady)}
    return stack, lines


def test_a_crashed_service_is_restarted_with_growing_backoff_and_logged(tmp_path: Path) -> None:
    stack, lines = supervised_stack(tmp_path)
    catalog = stack.processes["catalog"]
    try:
        stack.processes["metering"].wait()
        stack.supervise_once(now=5.0)
        assert lines[0].startswith(
            "metering exited with code 3 after 5s; restarting in 1s (crash 1 in a row)"
        )
        assert "Segmentation fault" in lines[0]
        stack.supervise_once(now=5.5)
        assert len(lines) == 1  # not due yet
        stack.supervise_once(now=6.0)
        assert lines[1].startswith("metering restarted (pid ")

        stack.processes["metering"].wait()
        stack.supervise_once(now=7.0)  # crashed again a second after starting: wait longer
        assert "restarting in 2s (crash 2 in a row)" in lines[2]
        stack.supervise_once(now=9.0)
        stack.processes["metering"].wait()
        stack.supervise_once(now=10.0)
        assert "restarting in 4s (crash 3 in a row)" in lines[4]
        stack.supervise_once(now=14.0)
        stack.processes["metering"].wait()
        stack.supervise_once(now=100.0)  # ran for over a minute before this crash: back to the first delay
        assert "restarting in 1s (crash 1 in a row)" in lines[6]

        assert stack.supervised["metering"].restarts == 3
        assert catalog.poll() is None and stack.processes["catalog"] is catalog  # the stack did not stop
        assert '"metering": ' in (tmp_path / "stack.json").read_text()
    finally:
        catalog.kill()
        catalog.wait()


def test_backoff_stops_growing_at_its_cap(tmp_path: Path) -> None:
    stack, lines = supervised_stack(tmp_path)
    try:
        now = 0.0
        for _ in range(8):
            stack.processes["metering"].wait()
            now += 1.0
            stack.supervise_once(now)
            now = stack.supervised["metering"].restart_at or now
            stack.supervise_once(now)
        delays = [line.split("restarting in ")[1].split("s")[0] for line in lines if "restarting in" in line]
        assert delays == ["1", "2", "4", "8", "16", "30", "30", "30"]
    finally:
        stack.processes["catalog"].kill()
        stack.processes["catalog"].wait()
