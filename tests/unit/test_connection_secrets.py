"""The connection's secret extras use names Airflow redacts; the old ``key_json`` is still read, with a warning."""

from __future__ import annotations

import json

import pytest
from airflow.exceptions import AirflowProviderDeprecationWarning
from airflow.sdk import Connection

from gemini_tuning import get_provider_info
from gemini_tuning.connection import ConnectionSettings

KEY = {"type": "service_account", "client_email": "sa@p.iam.gserviceaccount.com", "private_key": "-----PEM-----"}


def _settings(extra: dict) -> ConnectionSettings:
    conn = Connection(conn_id="c", conn_type="gemini_tuning", extra=json.dumps({"backend": "vertex_ai", **extra}))
    return ConnectionSettings.from_connection(conn)


def _secret_fields() -> list[str]:
    (conn_type,) = get_provider_info()["connection-types"]
    return [name for name, field in conn_type["conn-fields"].items() if field["schema"].get("format") == "password"]


def test_every_secret_field_of_the_form_has_a_name_airflow_redacts():
    from airflow._shared.secrets_masker import should_hide_value_for_key

    assert set(_secret_fields()) == {"keyfile_dict", "access_token"}
    for name in [*_secret_fields(), "password"]:
        assert should_hide_value_for_key(name), name


@pytest.mark.parametrize("value", [json.dumps(KEY), KEY], ids=["json-text", "dict"])
def test_keyfile_dict_is_read(value):
    settings = _settings({"keyfile_dict": value})
    assert json.loads(settings.keyfile_dict.get_secret_value()) == KEY
    assert "PEM" not in repr(settings)
    assert settings.keyfile_dict.get_secret_value() in settings.secrets()


def test_the_old_key_json_name_is_read_with_a_deprecation_warning():
    with pytest.warns(AirflowProviderDeprecationWarning, match="`key_json` .* Rename it to `keyfile_dict`"):
        settings = _settings({"key_json": json.dumps(KEY)})
    assert json.loads(settings.keyfile_dict.get_secret_value()) == KEY


def test_keyfile_dict_wins_over_the_old_name():
    with pytest.warns(AirflowProviderDeprecationWarning):
        settings = _settings({"key_json": "{}", "keyfile_dict": json.dumps(KEY)})
    assert json.loads(settings.keyfile_dict.get_secret_value()) == KEY
