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
    assert settings.project == "p" and settings.keyfile_dict is not None


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


# -- ConnectionSettings built from a google_cloud_platform connection -----------------------------
def _settings(conn, gcp_conn=None, chain=None):
    from gemini_tuning.connection import ConnectionSettings

    return ConnectionSettings.from_connection(conn, gcp_conn, chain)


def tuning(**extra) -> Connection:
    return Connection(conn_id="gemini_vertex", conn_type="gemini_tuning", extra=json.dumps(extra))


def test_a_gcp_connection_given_directly_means_vertex_ai_with_its_project_and_key(key):
    settings = _settings(gcp(keyfile_dict=key), chain="sa@p.iam.gserviceaccount.com")
    assert settings.backend == "vertex_ai" and settings.project == "key-project"
    assert settings.google_cloud.conn_id == "google_cloud_default"
    assert settings.impersonation_chain == ("sa@p.iam.gserviceaccount.com",)
    assert key["private_key"] in settings.secrets()


def test_gcp_conn_id_lends_credentials_while_location_and_base_url_stay_here(key):
    conn = tuning(backend="vertex_ai", gcp_conn_id="google_cloud_default", location="europe-west4")
    settings = _settings(conn, gcp(keyfile_dict=key, project="gcp-project"))
    assert (settings.project, settings.location) == ("gcp-project", "europe-west4")
    assert settings.google_cloud.credentials().service_account_email == key["client_email"]


def test_own_project_wins_over_the_linked_connections(key):
    conn = tuning(backend="vertex_ai", gcp_conn_id="google_cloud_default", project="mine")
    assert _settings(conn, gcp(keyfile_dict=key, project="theirs")).project == "mine"


def test_own_keyfile_dict_still_works_and_can_be_impersonated(key):
    settings = _settings(tuning(backend="vertex_ai", project="p", keyfile_dict=key), chain=["a@x", "b@x"])
    credentials = settings.google_cloud.credentials(settings.impersonation_chain)
    assert credentials._target_principal == "b@x" and credentials._delegates == ["a@x"]


@pytest.mark.parametrize(
    ("conn", "gcp_extra", "chain", "message"),
    [
        (tuning(backend="gemini_api", gcp_conn_id="g"), None, None, "`gcp_conn_id` applies to the vertex_ai backend"),
        (tuning(backend="gemini_api"), None, "sa@x", "`impersonation_chain` applies to the vertex_ai backend"),
        (tuning(backend="vertex_ai", gcp_conn_id="g", access_token="t"), {"project": "p"}, None, "keep one source"),
        (tuning(backend="vertex_ai", project="p", access_token="t"), None, "sa@x", "not an access_token"),
    ],
)
def test_contradictory_connections_are_refused(conn, gcp_extra, chain, message):
    with pytest.raises(InvalidInputError, match=message):
        _settings(conn, gcp(**gcp_extra) if gcp_extra is not None else None, chain)


def test_another_connection_type_is_still_refused():
    with pytest.raises(InvalidInputError, match="or a google_cloud_platform one"):
        _settings(Connection(conn_id="x", conn_type="aws"))


@pytest.mark.parametrize(
    ("error", "expected", "text"),
    [
        ("DefaultCredentialsError", "InvalidInputError", "No usable Google Cloud credentials: nothing found."),
        ("RefreshError", "ServiceError", "UNAUTHENTICATED (HTTP 401): Could not get a Google Cloud access token"),
        ("TransportError", "TransientServiceError", "Could not get a Google Cloud access token (TransportError)"),
    ],
)
def test_credential_failures_become_provider_errors_without_secrets(error, expected, text):
    from google.auth import exceptions as auth_errors

    from gemini_tuning import exceptions

    with pytest.raises(getattr(exceptions, expected)) as info, exceptions.translate_errors(secrets=["s3cr3t"]):
        raise getattr(auth_errors, error)(
            "nothing found s3cr3t" if error != "DefaultCredentialsError" else "nothing found"
        )
    assert type(info.value).__name__ == expected and text in str(info.value) and "s3cr3t" not in str(info.value)
