"""Which enabled ERPs erp-sync can reach, and their adapters, from the settings: an ERP with none of its
connection settings is queued for only; one with some must have them all."""

from __future__ import annotations

from tally.erp_sync.adapters import ErpAdapter
from tally.erp_sync.adapters.intacct import Intacct, IntacctCredentials
from tally.erp_sync.adapters.netsuite_rest import ClientCredentials, NetSuiteRest
from tally.erp_sync.adapters.netsuite_soap import NetSuiteSoap, TokenCredentials
from tally.erp_sync.domain import Erp
from tally.erp_sync.settings import ErpSyncSettings
from tally.mesh.settings import SettingsError


def _required(s: ErpSyncSettings, erp: Erp) -> dict[str, object]:
    if erp is Erp.SAGE_INTACCT:
        return {
            "TALLY_INTACCT_SENDER_ID": s.intacct_sender_id,
            "TALLY_INTACCT_SENDER_PASSWORD": s.intacct_sender_password,
            "TALLY_INTACCT_USER_ID": s.intacct_user_id,
            "TALLY_INTACCT_COMPANY_ID": s.intacct_company_id,
            "TALLY_INTACCT_USER_PASSWORD": s.intacct_user_password,
        }
    if s.netsuite_api == "rest":
        return {
            "TALLY_NETSUITE_ACCOUNT": s.netsuite_account,
            "TALLY_NETSUITE_CLIENT_ID": s.netsuite_client_id,
            "TALLY_NETSUITE_CERTIFICATE_ID": s.netsuite_certificate_id,
            "TALLY_NETSUITE_PRIVATE_KEY_FILE": s.netsuite_private_key_file,
        }
    return {
        "TALLY_NETSUITE_ACCOUNT": s.netsuite_account,
        "TALLY_NETSUITE_CONSUMER_KEY": s.netsuite_consumer_key,
        "TALLY_NETSUITE_CONSUMER_SECRET": s.netsuite_consumer_secret,
        "TALLY_NETSUITE_TOKEN_KEY": s.netsuite_token_key,
        "TALLY_NETSUITE_TOKEN_SECRET": s.netsuite_token_secret,
    }


def _adapter(s: ErpSyncSettings, erp: Erp) -> ErpAdapter:
    if erp is Erp.SAGE_INTACCT:
        credentials = IntacctCredentials(
            s.intacct_sender_id,
            s.intacct_sender_password,
            s.intacct_user_id,
            s.intacct_company_id,
            s.intacct_user_password,
        )
        return Intacct(credentials, url=s.intacct_url, timeout_s=s.call_timeout_s)
    if s.netsuite_api == "rest":
        assert s.netsuite_private_key_file is not None  # checked by _required
        try:
            key = s.netsuite_private_key_file.read_bytes()
        except OSError as exc:
            raise SettingsError([f"TALLY_NETSUITE_PRIVATE_KEY_FILE cannot be read: {exc}"]) from None
        rest = ClientCredentials(s.netsuite_account, s.netsuite_client_id, s.netsuite_certificate_id, key)
        return NetSuiteRest(rest, base_url=s.netsuite_url, timeout_s=s.call_timeout_s)
    soap = TokenCredentials(
        s.netsuite_account,
        s.netsuite_consumer_key,
        s.netsuite_consumer_secret,
        s.netsuite_token_key,
        s.netsuite_token_secret,
    )
    return NetSuiteSoap(soap, base_url=s.netsuite_url, timeout_s=s.call_timeout_s)


def configured_adapters(settings: ErpSyncSettings) -> dict[Erp, ErpAdapter]:
    """An adapter per enabled ERP whose connection settings are all set; SettingsError names any half-set."""
    adapters: dict[Erp, ErpAdapter] = {}
    problems = []
    for erp in settings.erp_targets:
        required = _required(settings, erp)
        missing = [variable for variable, value in required.items() if not value]
        if len(missing) == len(required):
            continue
        if missing:
            problems.append(f"{', '.join(missing)} must be set to post to {erp.value.lower()}")
            continue
        adapters[erp] = _adapter(settings, erp)
    if adapters and settings.mapping_file is None:
        problems.append("TALLY_ERP_MAPPING is required (the mapping file) when an ERP is configured")
    if problems:
        raise SettingsError(problems)
    return adapters
