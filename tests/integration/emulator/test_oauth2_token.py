"""A service-account key whose token_uri is the emulator's token endpoint drives Vertex calls.

google-auth signs a JWT-bearer grant with the key, posts it to ``/_emulator/oauth2/token`` and
sends the access token it gets back as ``Authorization: Bearer``.
"""

from __future__ import annotations

import json
import time

import google.auth.crypt
import google.auth.exceptions
import google.auth.jwt
import google.auth.transport.requests
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.genai import types
from google.oauth2 import service_account

from tests.integration.emulator.conftest import vertex_client

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
EMAIL = "tuner@p.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem.decode()


def _key_info(server, private_key: str) -> dict:
    """A service-account key JSON, as the Cloud console downloads it, pointing at the emulator."""
    return {
        "type": "service_account",
        "project_id": "p",
        "private_key_id": "emulator-key-1",
        "private_key": private_key,
        "client_email": EMAIL,
        "client_id": "1234567890",
        "token_uri": f"{server.url}/_emulator/oauth2/token",
    }


def test_key_file_credentials_get_a_token_and_drive_vertex(server, private_key, tmp_path):
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(_key_info(server, private_key)))
    credentials = service_account.Credentials.from_service_account_file(str(key_file), scopes=SCOPES)
    server.state.settings.bearer_token = "some-other-fixed-token"  # issued tokens are accepted anyway
    sent: list[httpx.Request] = []
    try:
        client = vertex_client(server, sent, credentials=credentials)
        job = client.tunings.tune(
            base_model="gemini-2.0-flash-001",
            training_dataset=types.TuningDataset(gcs_uri="gs://bucket/train.jsonl"),
            config=types.CreateTuningJobConfig(epoch_count=1),
        )
        assert client.tunings.get(name=job.name).name == job.name
    finally:
        server.state.settings.bearer_token = None
    assert credentials.valid and credentials.token.startswith("ya29.emulator-")
    assert [r.headers["authorization"] for r in sent] == [f"Bearer {credentials.token}"] * 2
    assert server.stats()["oauth2_tokens_issued"] == 1
    assert server.state.tokens[credentials.token]["sub"] == EMAIL


def test_token_response_shape(server, private_key):
    credentials = service_account.Credentials.from_service_account_info(_key_info(server, private_key), scopes=SCOPES)
    credentials.refresh(google.auth.transport.requests.Request())
    assert credentials.expiry is not None and credentials.token
    r = httpx.get(
        f"{server.url}/v1beta1/projects/p/locations/l/tuningJobs",
        headers={"Authorization": f"Bearer {credentials.token}"},
    )
    assert r.status_code == 200


def test_unknown_or_expired_issued_tokens_are_rejected(server, private_key, clock):
    credentials = service_account.Credentials.from_service_account_info(_key_info(server, private_key), scopes=SCOPES)
    credentials.refresh(google.auth.transport.requests.Request())
    url = f"{server.url}/v1beta1/projects/p/locations/l/tuningJobs"
    assert httpx.get(url, headers={"Authorization": f"Bearer {credentials.token}"}).status_code == 200
    forged = httpx.get(url, headers={"Authorization": "Bearer ya29.emulator-forged"})
    assert forged.status_code == 401 and forged.json()["error"]["status"] == "UNAUTHENTICATED"
    clock.advance(3601)
    expired = httpx.get(url, headers={"Authorization": f"Bearer {credentials.token}"})
    assert expired.status_code == 401


def _assertion(server, private_key: str, **overrides) -> str:
    signer = google.auth.crypt.RSASigner.from_string(private_key, "k")
    now = int(time.time())
    claims = {
        "iss": EMAIL,
        "aud": "https://oauth2.googleapis.com/token",
        "scope": SCOPES[0],
        "iat": now,
        "exp": now + 3600,
        **overrides,
    }
    return google.auth.jwt.encode(signer, {k: v for k, v in claims.items() if v is not None}).decode()


@pytest.mark.parametrize(
    "form, error",
    [
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
        ({"assertion": "not-a-jwt"}, "invalid_grant"),
        ({"assertion": {"aud": "https://example.com/token"}}, "invalid_grant"),
        ({"assertion": {"exp": 1}}, "invalid_grant"),
        ({"assertion": {"iss": None}}, "invalid_grant"),
        ({"assertion": {"scope": None}}, "invalid_scope"),
    ],
)
def test_bad_grants_get_oauth_errors(server, private_key, form, error):
    data = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", **form}
    if isinstance(data.get("assertion"), dict):
        data["assertion"] = _assertion(server, private_key, **data["assertion"])
    r = httpx.post(f"{server.url}/_emulator/oauth2/token", data=data)
    assert r.status_code == 400 and r.json()["error"] == error and r.json()["error_description"]


def test_google_auth_reports_the_refusal(server, private_key):
    info = _key_info(server, private_key)
    credentials = service_account.Credentials.from_service_account_info(info)  # no scopes: no access token
    with pytest.raises(google.auth.exceptions.RefreshError) as exc:
        credentials.refresh(google.auth.transport.requests.Request())
    assert "invalid_scope" in str(exc.value)
