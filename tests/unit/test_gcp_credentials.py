"""Credentials from a google_cloud_platform connection: the Google provider's extras, without the Google provider."""

from __future__ import annotations

import json
import sys

import pytest
from airflow.sdk import Connection

from gemini_tuning.exceptions import InvalidInputError
from gemini_tuning.gcp_credentials import DEFAULT_SCOPES, GoogleCloudCredentials, parse_impersonation_chain
from tests.helpers import service_account_key

TOKEN_URI = "http://127.0.0.1:9/token"


@pytest.fixture(scope="module")
def key() -> dict:
    return service_account_key(TOKEN_URI, project="key-project")


def gcp(**extra) -> Connection:
    return Connection(conn_id="google_cloud_default", conn_type="google_cloud_platform", extra=json.dumps(extra))


def test_keyfile_dict_as_json_text_gives_service_account_credentials(key):
    settings = GoogleCloudCredentials.from_connection(gcp(keyfile_dict=json.dumps(key)))
    credentials = settings.credentials()
    assert credentials.service_account_email == key["client_email"]
    assert credentials._token_uri == TOKEN_URI
    assert tuple(credentials.scopes) == DEFAULT_SCOPES
    assert settings.project == "key-project"  # from the key when the extra has none


def test_key_path_project_and_scopes_extras(key, tmp_path):
    path = tmp_path / "key.json"
    path.write_text(json.dumps(key))
    settings = GoogleCloudCredentials.from_connection(
        gcp(key_path=str(path), project="conn-project", scope="https://a/scope1, https://a/scope2")
    )
    assert settings.project == "conn-project"
    assert settings.credentials().scopes == ["https://a/scope1", "https://a/scope2"]


def test_prefixed_extras_from_the_connection_form_are_read(key):
    conn = gcp(extra__google_cloud_platform__keyfile_dict=key, extra__google_cloud_platform__project="p")
    settings = GoogleCloudCredentials.from_connection(conn)
    assert settings.project == "p" and settings.key_json is not None


def test_no_key_means_application_default_credentials(key):
    settings = GoogleCloudCredentials.from_connection(gcp(project="p"))
    assert settings.credentials() is None and settings.secrets() == []


def test_operator_impersonation_chain_wins_over_the_connections(key):
    settings = GoogleCloudCredentials.from_connection(
        gcp(keyfile_dict=key, impersonation_chain="conn-sa@p.iam.gserviceaccount.com")
    )
    assert settings.credentials()._target_principal == "conn-sa@p.iam.gserviceaccount.com"
    chained = settings.credentials(["a@p.iam.gserviceaccount.com", "b@p.iam.gserviceaccount.com"])
    assert chained._target_principal == "b@p.iam.gserviceaccount.com"
    assert chained._delegates == ["a@p.iam.gserviceaccount.com"]
    assert chained._source_credentials.service_account_email == key["client_email"]
    assert chained._target_scopes == list(DEFAULT_SCOPES)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ()),
        ("a@x", ("a@x",)),
        ("a@x, b@x", ("a@x", "b@x")),
        (["a@x", "b@x"], ("a@x", "b@x")),
    ],
)
def test_impersonation_chain_forms(value, expected):
    assert parse_impersonation_chain(value) == expected


def test_secrets_are_the_key_and_its_private_key(key):
    secrets = GoogleCloudCredentials.from_connection(gcp(keyfile_dict=key)).secrets()
    assert key["private_key"] in secrets and key["private_key_id"] in secrets
    assert any(key["client_email"] in s for s in secrets)  # the whole key JSON


def test_the_key_never_appears_in_the_settings_repr(key):
    settings = GoogleCloudCredentials.from_connection(gcp(keyfile_dict=key))
    assert key["private_key"] not in repr(settings) and key["private_key"] not in str(settings.model_dump())


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"keyfile_dict": "{not json"}, "`keyfile_dict` is not valid JSON"),
        ({"keyfile_dict": {"type": "authorized_user"}}, "is not a service-account key"),
        ({"key_path": "/nonexistent/key.json"}, "cannot read `key_path` /nonexistent/key.json"),
        ({"key_path": "/keys/legacy.p12"}, "legacy P12 key files are not supported"),
        ({"key_secret_name": "projects/p/secrets/k"}, "sets `key_secret_name`, which this provider does not support"),
        ({"key_path": "/k.json", "keyfile_dict": "{}"}, "sets both `key_path` and `keyfile_dict`"),
    ],
)
def test_bad_extras_are_one_clear_error_naming_the_connection(extra, message):
    with pytest.raises(InvalidInputError, match="google_cloud_default") as info:
        GoogleCloudCredentials.from_connection(gcp(**extra))
    assert message in str(info.value)


def test_a_malformed_key_fails_when_credentials_are_built_without_leaking_it(key):
    broken = {**key, "private_key": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"}
    with pytest.raises(InvalidInputError, match="service-account key is not usable") as info:
        GoogleCloudCredentials.from_connection(gcp(keyfile_dict=broken)).credentials()
    assert "not a key" not in str(info.value)


def test_the_google_provider_is_never_imported(key):
    GoogleCloudCredentials.from_connection(gcp(keyfile_dict=key)).credentials("sa@p.iam.gserviceaccount.com")
    assert not [m for m in sys.modules if m.startswith("airflow.providers.google")]
