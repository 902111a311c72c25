"""The local runner: `tally up` starts nats-server and six healthy services, `status` sees them, stop is clean."""

import socket
import subprocess
import sys

import pytest

from tally.cli.stack import Stack, StackConfig, StackError, check_health
from tally.cli.topology import SERVICES
from tally.testing.ports import free_port


def consecutive_free_ports(count: int) -> int:
    for _ in range(50):
        base = free_port()
        if all(_is_free(base + offset) for offset in range(count)):
            return base
    raise RuntimeError("no run of free ports found")


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def config(tmp_path) -> StackConfig:
    return StackConfig(
        data_dir=tmp_path / "stack",
        base_port=consecutive_free_ports(max(spec.offset for spec in SERVICES) + 1),
        nats_port=free_port(),
        nats_monitor_port=free_port(),
    )


def test_up_status_and_graceful_stop(tmp_path):
    stack = Stack(config(tmp_path))
    stack.start()
    try:
        assert {
            name: check_health(stack.config.target(spec)) for spec in SERVICES for name in [spec.name]
        } == {spec.name: "SERVING" for spec in SERVICES}
        status = subprocess.run(
            [sys.executable, "-m", "tally.cli", "status", "--data-dir", str(stack.config.data_dir)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert status.returncode == 0, status.stdout + status.stderr
        rows = [line.split() for line in status.stdout.splitlines()[1:]]
        assert sorted(row[0] for row in rows) == sorted(spec.name for spec in SERVICES)
        assert all(row[2:] == ["SERVING", "SERVING"] for row in rows), status.stdout  # readiness, liveness
        processes = dict(stack.processes)
    finally:
        stack.stop()
    # SIGTERM lets every service drain and exit by itself, with status 0.
    assert {name: process.returncode for name, process in processes.items()} == {
        spec.name: 0 for spec in SERVICES
    }
    assert not (stack.config.data_dir / "stack.json").exists()


def test_a_port_in_use_is_a_clear_error(tmp_path):
    cfg = config(tmp_path)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", cfg.base_port + 2))
        holder.listen()
        with pytest.raises(
            StackError, match=rf"port {cfg.base_port + 2} on 127.0.0.1 \(catalog\) is already in use"
        ):
            Stack(cfg).start()


def test_status_without_a_stack_says_how_to_start_one(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tally.cli", "status", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "tally up" in result.stdout
