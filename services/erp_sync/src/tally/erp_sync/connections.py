"""The adapters of the enabled ERPs erp-sync can reach, built from the settings."""

from __future__ import annotations

from tally.erp_sync.adapters import ErpAdapter
from tally.erp_sync.adapters.intacct import Intacct, IntacctCredentials
from tally.erp_sync.adapters.netsuite_rest import ClientCredentials, NetSuiteRest
from tally.erp_sync.adapters.netsuite_soap import NetSuiteSoap, TokenCredentials
from tally.erp_sync.domain import Erp
from tally.erp_sync.settings import ErpSyncSettings
from tally.mesh.settings import SettingsError


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
    """An adapter per enabled ERP whose connection settings are set (the settings checked that none is half-set)."""
    return {erp: _adapter(settings, erp) for erp in settings.configured_erps()}
