"""Service keys hold only the scopes of the RPCs their service calls: in the local stack's credentials and
in the dev cluster's committed keyring."""

from pathlib import Path

from tally.cli.credentials import ensure_credentials
from tally.mesh.auth import ALL_SCOPES, Keyring, generate_key, parse_key
from tally.mesh.roles import SERVICE_SCOPES

ROOT = Path(__file__).resolve().parents[3]


def _scopes_of(keyring: Keyring, plaintext: str) -> frozenset[str]:
    principal = keyring.verify_now(plaintext)
    assert principal is not None
    return principal.scopes


def test_the_local_stack_gives_each_service_its_own_scopes_and_replaces_an_old_star_key(tmp_path):
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    old, old_record = generate_key("service:gateway", [ALL_SCOPES])
    (secrets / "gateway.key").write_text(old + "\n")
    Keyring([old_record]).save(secrets / "keyring.json")

    credentials = ensure_credentials(secrets, list(SERVICE_SCOPES))
    keyring = Keyring.load(credentials.keyring_path)
    assert _scopes_of(keyring, credentials.admin_key) == {ALL_SCOPES}
    for name, key in credentials.service_keys.items():
        assert _scopes_of(keyring, key) == SERVICE_SCOPES[name]
    assert credentials.service_keys["gateway"] != old
    assert keyring.verify_now(old) is None  # revoked, not merely forgotten

    again = ensure_credentials(secrets, list(SERVICE_SCOPES))
    assert (again.admin_key, again.service_keys) == (credentials.admin_key, credentials.service_keys)


def test_the_dev_cluster_keyring_gives_each_service_its_own_scopes():
    component = ROOT / "deploy" / "k8s" / "components" / "dev-credentials"
    keyring = Keyring.load(component / "keyring.json")
    for env in component.glob("*.env"):
        service = env.stem.replace("-", "_")
        token = dict(line.split("=", 1) for line in env.read_text().splitlines() if "=" in line)[
            "TALLY_SERVICE_TOKEN"
        ]
        assert parse_key(token) is not None
        assert _scopes_of(keyring, token) == SERVICE_SCOPES[service], service
    assert _scopes_of(keyring, (component / "admin.key").read_text().strip()) == {ALL_SCOPES}
