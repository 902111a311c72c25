"""erp-sync stops at start, naming each variable or mapping key at fault, when its ERP settings are half set or
its mapping file is wrong."""

import os
import subprocess
import sys

INTACCT = {
    "TALLY_INTACCT_SENDER_ID": "s",
    "TALLY_INTACCT_SENDER_PASSWORD": "p",
    "TALLY_INTACCT_USER_ID": "u",
    "TALLY_INTACCT_COMPANY_ID": "c",
    "TALLY_INTACCT_USER_PASSWORD": "w",
}
BASE = {
    "TALLY_NATS_URL": "nats://127.0.0.1:1",
    "TALLY_SERVICE_TOKEN": "x",
    "TALLY_ERP_TARGETS": "netsuite,sage_intacct",
}


def run_erp_sync(tmp_path, env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TALLY_")}
    clean.update(
        BASE, TALLY_DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite", TALLY_KEYRING=str(tmp_path / "k.json")
    )
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "tally.erp_sync"],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_half_set_connection_settings_and_a_missing_mapping_are_named(tmp_path):
    result = run_erp_sync(
        tmp_path,
        {"TALLY_NETSUITE_ACCOUNT": "TSTDRV1", "TALLY_NETSUITE_CONSUMER_KEY": "k", **INTACCT},
    )
    assert result.returncode == 2
    assert (
        "TALLY_NETSUITE_CONSUMER_SECRET, TALLY_NETSUITE_TOKEN_KEY, TALLY_NETSUITE_TOKEN_SECRET must be set to post "
        "to netsuite" in result.stderr
    )
    assert "TALLY_ERP_MAPPING is required" in result.stderr


def test_every_problem_of_the_mapping_file_is_named(tmp_path):
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        '[sage_intacct]\ntax_code = "2200"\nincome_item = "4000"\n[sage_intacct.currencies]\nusd = "USD"\n'
    )
    result = run_erp_sync(
        tmp_path,
        {"TALLY_ERP_TARGETS": "sage_intacct", "TALLY_ERP_MAPPING": str(mapping), **INTACCT},
    )
    assert result.returncode == 2
    assert f"{mapping}: sage_intacct.ar_account is required" in result.stderr
    assert f"{mapping}: sage_intacct.currencies.usd is not an ISO 4217 code" in result.stderr
