"""Under a real api-server, every secret of a ``gemini_tuning`` connection is redacted by the REST API.

The password (Gemini API key), ``keyfile_dict`` (service-account key, as JSON text or as an object)
and ``access_token`` never come back in clear from ``GET /api/v2/connections/{id}`` or the list.
"""

from __future__ import annotations

import json

import pytest

from gemini_tuning import get_provider_info
from gemini_tuning.connection import KEYFILE_EXTRA

API_KEY = "fake-system-test-api-key-0123456789"
PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----\nMIIEsystemtestsecret\n-----END PRIVATE KEY-----\n"
SERVICE_ACCOUNT = {
    "type": "service_account",
    "project_id": "demo-project",
    "private_key_id": "0123456789abcdef0123456789abcdef01234567",
    "private_key": PRIVATE_KEY,
    "client_email": "tuner@demo-project.iam.gserviceaccount.com",
}
ACCESS_TOKEN = "ya29.system-test-access-token-0123456789"

# Every field the connection form marks secret, each with its own value.
(_FORM,) = get_provider_info()["connection-types"]
FORM_SECRETS = {
    name: f"form-secret-{name}-0123456789"
    for name, field in _FORM["conn-fields"].items()
    if field["schema"].get("format") == "password"
}
SECRETS = [API_KEY, PRIVATE_KEY, "MIIEsystemtestsecret", SERVICE_ACCOUNT["private_key_id"], ACCESS_TOKEN]
SECRETS += list(FORM_SECRETS.values())

CONNECTIONS = {
    "gemini_api_key": {"password": API_KEY, "extra": {"backend": "gemini_api"}},
    "vertex_key_text": {
        "extra": {"backend": "vertex_ai", "project": "demo-project", KEYFILE_EXTRA: json.dumps(SERVICE_ACCOUNT)}
    },
    "vertex_key_object": {"extra": {"backend": "vertex_ai", "project": "demo-project", KEYFILE_EXTRA: SERVICE_ACCOUNT}},
    "vertex_token": {"extra": {"backend": "vertex_ai", "project": "demo-project", "access_token": ACCESS_TOKEN}},
    "every_form_secret": {"password": API_KEY, "extra": {"backend": "vertex_ai", **FORM_SECRETS}},
}


@pytest.fixture(scope="module")
def api(make_deployment):
    """An api-server on SQLite with the connections stored in its metadata DB."""
    deployment = make_deployment("secrets")
    deployment.migrate()
    deployment.start_api_server()
    for conn_id, conn in CONNECTIONS.items():
        body = {"connection_id": conn_id, "conn_type": "gemini_tuning", **conn}
        body["extra"] = json.dumps(conn["extra"])
        deployment.rest.post("/connections", body)
    return deployment.rest


def _redacted(value) -> bool:
    """``***``, or an object whose every value is (Airflow redacts a sensitive object value by value)."""
    if isinstance(value, dict):
        return bool(value) and all(_redacted(v) for v in value.values())
    return value == "***"


def _assert_no_secret(text: str) -> None:
    leaked = [secret for secret in SECRETS if secret in text or json.dumps(secret)[1:-1] in text]
    assert not leaked, f"secrets in clear in the REST response: {leaked}\n{text[:2000]}"


@pytest.mark.parametrize("conn_id", sorted(CONNECTIONS))
def test_a_single_connection_is_redacted(api, conn_id):
    response = api.request("GET", f"/connections/{conn_id}")
    _assert_no_secret(response.text)
    body = response.json()
    extra = json.loads(body["extra"])
    if "password" in CONNECTIONS[conn_id]:
        assert body["password"] == "***"
    for field in FORM_SECRETS:
        if field in CONNECTIONS[conn_id]["extra"]:
            assert _redacted(extra[field]), extra[field]
    assert extra["backend"] == CONNECTIONS[conn_id]["extra"]["backend"]  # the rest stays readable


def test_the_connection_list_is_redacted(api):
    response = api.request("GET", "/connections", params={"limit": 100})
    _assert_no_secret(response.text)
    listed = {c["connection_id"] for c in response.json()["connections"]}
    assert set(CONNECTIONS) <= listed
