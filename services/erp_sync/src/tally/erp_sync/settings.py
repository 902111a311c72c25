"""erp-sync's settings beyond the mesh's: which ERPs documents go to, how to reach each, and how hard to try."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tally.erp_sync.domain import Erp, parse_targets
from tally.erp_sync.mapping import MappingError
from tally.erp_sync.mapping_file import load_mappings
from tally.mesh.settings import SettingsError, parse_optional_path, parse_seconds, setting


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError(f"must be at least 1, got {raw!r}")
    return value


def _netsuite_api(raw: str) -> str:
    value = raw.strip().lower()
    if value not in ("soap", "rest"):
        raise ValueError(f"expected soap or rest, got {raw!r}")
    return value


@dataclass(frozen=True)
class ErpSyncSettings:
    """The enabled ERPs, their endpoints and credentials, the mapping file and the posting policy.

    An enabled ERP whose connection settings are all unset is queued for but not posted to (its records stay
    PENDING, and the service says so at start); one with some of them set must have them all.
    """

    erp_targets: tuple[Erp, ...] = setting(
        "TALLY_ERP_TARGETS",
        default=(Erp.NETSUITE,),
        parse=parse_targets,
        doc="comma list of ERPs documents are posted to: netsuite, sage_intacct",
    )
    """ERPs every finalized invoice and issued credit note is queued for, e.g. ``netsuite,sage_intacct``."""

    mapping_file: Path | None = setting(
        "TALLY_ERP_MAPPING",
        default=None,
        parse=parse_optional_path,
        doc="TOML mapping file, one table per ERP",
    )
    """TOML file mapping Tally's documents onto each ERP (``[netsuite]``, ``[sage_intacct]``); checked at start
    and read again by RetrySync."""

    netsuite_api: str = setting(
        "TALLY_NETSUITE_API", default="soap", parse=_netsuite_api, doc="soap (netsuitesdk) or rest"
    )
    """``soap`` posts through netsuitesdk (SuiteTalk); ``rest`` through the REST record API."""
    netsuite_account: str = setting("TALLY_NETSUITE_ACCOUNT", default="", doc="NetSuite account id")
    netsuite_url: str = setting(
        "TALLY_NETSUITE_URL",
        default="https://{account}.suitetalk.api.netsuite.com",
        doc="NetSuite base URL ({account} is replaced)",
    )
    """Base of the WSDL, SOAP port and REST URLs; tests and the demo point it at a fake on loopback."""
    netsuite_consumer_key: str = setting(
        "TALLY_NETSUITE_CONSUMER_KEY", default="", doc="SOAP TBA consumer key"
    )
    netsuite_consumer_secret: str = setting(
        "TALLY_NETSUITE_CONSUMER_SECRET", default="", doc="SOAP TBA consumer secret"
    )
    netsuite_token_key: str = setting("TALLY_NETSUITE_TOKEN_KEY", default="", doc="SOAP TBA token id")
    netsuite_token_secret: str = setting(
        "TALLY_NETSUITE_TOKEN_SECRET", default="", doc="SOAP TBA token secret"
    )
    netsuite_client_id: str = setting("TALLY_NETSUITE_CLIENT_ID", default="", doc="REST OAuth 2.0 client id")
    netsuite_certificate_id: str = setting(
        "TALLY_NETSUITE_CERTIFICATE_ID", default="", doc="REST certificate id (the JWT kid)"
    )
    netsuite_private_key_file: Path | None = setting(
        "TALLY_NETSUITE_PRIVATE_KEY_FILE",
        default=None,
        parse=parse_optional_path,
        doc="REST PEM RSA private key",
    )

    intacct_url: str = setting(
        "TALLY_INTACCT_URL",
        default="https://api.intacct.com/ia/xml/xmlgw.phtml",
        doc="Intacct XML gateway URL",
    )
    intacct_sender_id: str = setting(
        "TALLY_INTACCT_SENDER_ID", default="", doc="Intacct Web Services sender id"
    )
    intacct_sender_password: str = setting("TALLY_INTACCT_SENDER_PASSWORD", default="", doc="sender password")
    intacct_user_id: str = setting("TALLY_INTACCT_USER_ID", default="", doc="Intacct API user")
    intacct_company_id: str = setting("TALLY_INTACCT_COMPANY_ID", default="", doc="Intacct company id")
    intacct_user_password: str = setting("TALLY_INTACCT_USER_PASSWORD", default="", doc="API user's password")

    call_timeout_s: float = setting(
        "TALLY_ERP_TIMEOUT_SECONDS", default=10.0, parse=parse_seconds, doc="timeout of every ERP call"
    )
    """Every HTTP call to an ERP gives up after this long (the SDKs have no timeout of their own)."""
    concurrency: int = setting(
        "TALLY_ERP_CONCURRENCY", default=4, parse=_positive_int, doc="postings in flight per ERP"
    )
    max_attempts: int = setting(
        "TALLY_ERP_MAX_ATTEMPTS", default=12, parse=_positive_int, doc="attempts before a record is FAILED"
    )
    backoff_base_s: float = setting(
        "TALLY_ERP_BACKOFF_SECONDS", default=0.5, parse=parse_seconds, doc="first retry's backoff ceiling"
    )
    backoff_cap_s: float = setting(
        "TALLY_ERP_BACKOFF_MAX_SECONDS", default=60.0, parse=parse_seconds, doc="longest backoff"
    )
    lease_s: float = setting(
        "TALLY_ERP_LEASE_SECONDS",
        default=60.0,
        parse=parse_seconds,
        doc="how long a posting holds its record",
    )
    """A SENDING record whose lease ran out (its poster died) is taken again, looking the document up first.
    Keep it above a posting's longest run: a few calls of TALLY_ERP_TIMEOUT_SECONDS each."""
    payment_poll_s: float = setting(
        "TALLY_ERP_PAYMENT_POLL_SECONDS", default=5.0, parse=parse_seconds, doc="how often payments are read"
    )

    def connection_settings(self, erp: Erp) -> dict[str, object]:
        """The variables that connect to ``erp`` (with the NetSuite API chosen), and their values."""
        if erp is Erp.SAGE_INTACCT:
            return {
                "TALLY_INTACCT_SENDER_ID": self.intacct_sender_id,
                "TALLY_INTACCT_SENDER_PASSWORD": self.intacct_sender_password,
                "TALLY_INTACCT_USER_ID": self.intacct_user_id,
                "TALLY_INTACCT_COMPANY_ID": self.intacct_company_id,
                "TALLY_INTACCT_USER_PASSWORD": self.intacct_user_password,
            }
        if self.netsuite_api == "rest":
            return {
                "TALLY_NETSUITE_ACCOUNT": self.netsuite_account,
                "TALLY_NETSUITE_CLIENT_ID": self.netsuite_client_id,
                "TALLY_NETSUITE_CERTIFICATE_ID": self.netsuite_certificate_id,
                "TALLY_NETSUITE_PRIVATE_KEY_FILE": self.netsuite_private_key_file,
            }
        return {
            "TALLY_NETSUITE_ACCOUNT": self.netsuite_account,
            "TALLY_NETSUITE_CONSUMER_KEY": self.netsuite_consumer_key,
            "TALLY_NETSUITE_CONSUMER_SECRET": self.netsuite_consumer_secret,
            "TALLY_NETSUITE_TOKEN_KEY": self.netsuite_token_key,
            "TALLY_NETSUITE_TOKEN_SECRET": self.netsuite_token_secret,
        }

    def configured_erps(self) -> tuple[Erp, ...]:
        """The enabled ERPs whose connection settings are all set."""
        return tuple(erp for erp in self.erp_targets if all(self.connection_settings(erp).values()))

    def __post_init__(self) -> None:
        # Checked with the rest of the settings, so the service stops at once, naming every variable at fault.
        problems = []
        for erp in self.erp_targets:
            values = self.connection_settings(erp)
            missing = [variable for variable, value in values.items() if not value]
            if missing and len(missing) < len(values):
                problems.append(f"{', '.join(missing)} must be set to post to {erp.value.lower()}")
        configured = self.configured_erps()
        if configured and self.mapping_file is None:
            problems.append("TALLY_ERP_MAPPING is required (the mapping file) when an ERP is configured")
        elif configured and self.mapping_file is not None:
            try:
                load_mappings(self.mapping_file, configured)
            except MappingError as exc:
                problems += [f"TALLY_ERP_MAPPING: {problem}" for problem in exc.problems]
        if problems:
            raise SettingsError(problems)
