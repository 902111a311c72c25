"""``tally insights`` as a user runs it (a subprocess) on exported usage: anomalies and forecasts as JSON."""

import json
import subprocess
import sys
from datetime import UTC, datetime

import numpy as np

from tally.testing.usage_series import Incident, hourly_usage


def tally(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "tally.cli", "insights", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def export(tmp_path, series, name="usage.csv"):
    """The series as a user would export it: a header, ISO timestamps, integer counts."""
    path = tmp_path / name
    rows = ["timestamp,value"] + [
        f"{datetime.fromtimestamp(int(t), UTC):%Y-%m-%d %H:%M:%S},{int(v)}"
        for t, v in zip(series.timestamps, series.values, strict=True)
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_anomalies_prints_the_spike_and_the_outage_as_json(tmp_path):
    series = hourly_usage(
        np.random.default_rng(12),
        35,
        200.0,
        incidents=(Incident("SPIKE", 20 * 24 + 13, 1), Incident("OUTAGE", 28 * 24 + 9, 6)),
    )
    done = tally("anomalies", "--csv", str(export(tmp_path, series)))
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)["anomalies"]
    assert [(a["kind"], a["start"], a["end"]) for a in found] == [
        ("SPIKE", "2026-01-21T13:00:00Z", "2026-01-21T14:00:00Z"),
        ("DROP", "2026-01-29T09:00:00Z", "2026-01-29T15:00:00Z"),
    ]
    assert found[1]["observed"] == 0 and found[1]["severity"] == "HIGH"
    assert "fell to zero" in found[1]["reason"]


def test_forecast_prints_the_next_steps_with_their_interval(tmp_path):
    series = hourly_usage(np.random.default_rng(13), 21, 100.0)
    done = tally("forecast", "--csv", str(export(tmp_path, series)), "--horizon", "48")
    assert done.returncode == 0, done.stderr
    reply = json.loads(done.stdout)
    assert reply["step_seconds"] == 3600
    points = reply["forecast"]
    assert len(points) == 48
    assert points[0]["timestamp"] == "2026-01-22T00:00:00Z"
    assert all(p["low"] <= p["value"] <= p["high"] for p in points)


def test_bad_input_exits_2_naming_the_line():
    done = tally(
        "anomalies",
        "--csv",
        "-",
        stdin="timestamp,value\n2026-01-01T00:00:00Z,3\n2026-01-01T01:00:00Z,lots\n",
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "tally insights: line 3: value 'lots' is not a number"
    done = tally("forecast", "--csv", "-", "--horizon", "0", stdin="1767225600,1\n1767229200,2\n")
    assert done.returncode == 2
    assert "horizon" in done.stderr
