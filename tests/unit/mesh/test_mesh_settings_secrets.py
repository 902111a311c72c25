"""Secret settings come from the environment or from the file a ``<VARIABLE>_FILE`` names, never from both."""

from __future__ import annotations

from pathlib import Path

import pytest

from tally.mesh.settings import MeshSettings, SettingsError, load, secret_variables

REQUIRED = {"TALLY_NATS_URL": "nats://127.0.0.1:4222", "TALLY_KEYRING": "/etc/tally/keyring.json"}


def test_a_secret_is_read_from_its_file_without_the_trailing_newline(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("tly_abc_secret\n")
    (tmp_path / "url").write_text("postgresql://ingestion:pw@db/ingestion")
    settings = load(
        MeshSettings,
        {
            **REQUIRED,
            "TALLY_SERVICE_TOKEN_FILE": str(tmp_path / "token"),
            "TALLY_DATABASE_URL_FILE": str(tmp_path / "url"),
        },
    )
    assert settings.service_token == "tly_abc_secret"
    assert settings.database_url == "postgresql://ingestion:pw@db/ingestion"


def test_the_variable_itself_still_works(tmp_path: Path) -> None:
    settings = load(
        MeshSettings, {**REQUIRED, "TALLY_SERVICE_TOKEN": "tly_x", "TALLY_DATABASE_URL": "sqlite://"}
    )
    assert (settings.service_token, settings.database_url) == ("tly_x", "sqlite://")


def test_both_the_variable_and_its_file_is_refused_naming_both(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("tly_file")
    with pytest.raises(SettingsError) as raised:
        load(
            MeshSettings,
            {
                **REQUIRED,
                "TALLY_DATABASE_URL": "sqlite://",
                "TALLY_SERVICE_TOKEN": "tly_env",
                "TALLY_SERVICE_TOKEN_FILE": str(tmp_path / "token"),
            },
        )
    assert raised.value.problems == [
        "TALLY_SERVICE_TOKEN is invalid: set TALLY_SERVICE_TOKEN or TALLY_SERVICE_TOKEN_FILE, not both"
    ]


def test_an_unreadable_file_is_named_with_its_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(SettingsError) as raised:
        load(
            MeshSettings,
            {**REQUIRED, "TALLY_DATABASE_URL": "sqlite://", "TALLY_SERVICE_TOKEN_FILE": str(missing)},
        )
    (problem,) = raised.value.problems
    assert problem.startswith(
        f"TALLY_SERVICE_TOKEN is invalid: cannot read TALLY_SERVICE_TOKEN_FILE={missing}:"
    )


def test_neither_names_both_ways_to_set_it() -> None:
    with pytest.raises(SettingsError) as raised:
        load(MeshSettings, {**REQUIRED, "TALLY_DATABASE_URL": "sqlite://"})
    assert raised.value.problems == [
        "TALLY_SERVICE_TOKEN is required (this service's API key for internal calls) but not set "
        "(nor TALLY_SERVICE_TOKEN_FILE)"
    ]


def test_only_secrets_take_a_file(tmp_path: Path) -> None:
    (tmp_path / "port").write_text("6000")
    settings = load(
        MeshSettings,
        {
            **REQUIRED,
            "TALLY_DATABASE_URL": "sqlite://",
            "TALLY_SERVICE_TOKEN": "t",
            "TALLY_GRPC_PORT_FILE": str(tmp_path / "port"),
        },
    )
    assert settings.grpc_port == 50051
    assert secret_variables(MeshSettings) == {
        "TALLY_DATABASE_URL",
        "TALLY_SERVICE_TOKEN",
        "TALLY_NATS_NKEY_SEED",
    }
