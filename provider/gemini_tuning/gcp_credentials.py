"""Google Cloud credentials from a ``google_cloud_platform`` connection, read without the Google provider.

The extras are the Google provider's own (``project``, ``key_path``, ``keyfile_dict``, ``scope``,
``impersonation_chain``; the UI's ``extra__google_cloud_platform__`` prefix is accepted), so the
connection that already serves every other GCP task also drives Vertex AI tuning. The credentials
are built with google-auth, which google-genai already depends on; ``airflow.providers.google`` is
never imported.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, SecretStr

from gemini_tuning.exceptions import InvalidInputError

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

GCP_CONN_TYPE = "google_cloud_platform"
DEFAULT_GCP_CONN_ID = "google_cloud_default"
DEFAULT_SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
_PREFIX = f"extra__{GCP_CONN_TYPE}__"
# Extras of the Google provider this provider does not implement: refuse them rather than ignore them.
_UNSUPPORTED = ("credential_config_file", "key_secret_name", "is_anonymous", "idp_issuer_url")


def is_gcp_connection(conn: Any) -> bool:
    return (getattr(conn, "conn_type", None) or "").replace("-", "_") == GCP_CONN_TYPE


def parse_impersonation_chain(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """The Google provider's forms: one account, a comma-separated string, or a list."""
    if not value:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    return tuple(item.strip() for item in items if item and item.strip())


class GoogleCloudCredentials(BaseModel):
    """What a ``google_cloud_platform`` connection says about credentials. The key stays a ``SecretStr``."""

    model_config = ConfigDict(frozen=True)

    conn_id: str
    project: str | None = None
    keyfile_dict: SecretStr | None = None
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    impersonation_chain: tuple[str, ...] = ()

    @classmethod
    def from_connection(cls, conn: Any) -> GoogleCloudCredentials:
        """Read the extras; the key file named by ``key_path`` is read here, once."""
        conn_id = conn.conn_id or GCP_CONN_TYPE
        extra = {k.removeprefix(_PREFIX): v for k, v in (conn.extra_dejson or {}).items() if v not in (None, "")}
        for name in _UNSUPPORTED:
            if extra.get(name):
                raise InvalidInputError(
                    f"Connection `{conn_id}` sets `{name}`, which this provider does not support; "
                    "use `key_path`, `keyfile_dict` or application-default credentials."
                )
        if extra.get("key_path") and extra.get("keyfile_dict"):
            raise InvalidInputError(f"Connection `{conn_id}` sets both `key_path` and `keyfile_dict`; keep one.")
        key = _key_from_extra(conn_id, extra)
        scopes = tuple(s.strip() for s in str(extra.get("scope") or "").split(",") if s.strip())
        return cls(
            conn_id=conn_id,
            project=extra.get("project") or (key or {}).get("project_id"),
            keyfile_dict=json.dumps(key) if key else None,
            scopes=scopes or DEFAULT_SCOPES,
            impersonation_chain=parse_impersonation_chain(extra.get("impersonation_chain")),
        )

    def secrets(self) -> list[str]:
        """Values to mask: the key JSON and, separately, its private key."""
        if not self.keyfile_dict:
            return []
        text = self.keyfile_dict.get_secret_value()
        return [text, *(v for k, v in json.loads(text).items() if k in ("private_key", "private_key_id") and v)]

    def credentials(self, impersonation_chain: str | Sequence[str] | None = None) -> Credentials | None:
        """google-auth credentials; ``None`` means application-default credentials, unchanged.

        ``impersonation_chain`` (an operator argument) takes precedence over the connection's, as in
        the Google provider: the last account is impersonated, the ones before it are delegates.
        """
        chain = parse_impersonation_chain(impersonation_chain) or self.impersonation_chain
        source = self._source_credentials(need_explicit=bool(chain) or self.scopes != DEFAULT_SCOPES)
        if not chain:
            return source
        from google.auth import impersonated_credentials

        return impersonated_credentials.Credentials(
            source_credentials=source,
            target_principal=chain[-1],
            delegates=list(chain[:-1]),
            target_scopes=list(self.scopes),
        )

    def _source_credentials(self, need_explicit: bool) -> Credentials | None:
        if self.keyfile_dict:
            from google.oauth2 import service_account

            info = json.loads(self.keyfile_dict.get_secret_value())
            try:
                return service_account.Credentials.from_service_account_info(info, scopes=list(self.scopes))
            except ValueError as exc:  # google-auth names the missing fields, never the key material
                raise InvalidInputError(
                    f"Connection `{self.conn_id}`: the service-account key is not usable: {exc}"
                ) from None
        if not need_explicit:
            return None
        import google.auth

        credentials, _ = google.auth.default(scopes=list(self.scopes))
        return credentials


def _key_from_extra(conn_id: str, extra: Mapping[str, Any]) -> dict[str, Any] | None:
    """The service-account key as a dict, from ``keyfile_dict`` (JSON text or dict) or ``key_path``."""
    if extra.get("keyfile_dict"):
        value = extra["keyfile_dict"]
        try:
            key = dict(value) if isinstance(value, Mapping) else json.loads(value)
        except (TypeError, ValueError):
            raise InvalidInputError(f"Connection `{conn_id}`: `keyfile_dict` is not valid JSON.") from None
        return _check_key(conn_id, "`keyfile_dict`", key)
    if extra.get("key_path"):
        path = str(extra["key_path"])
        if path.endswith(".p12"):
            raise InvalidInputError(f"Connection `{conn_id}`: legacy P12 key files are not supported ({path}).")
        try:
            with open(path, encoding="utf-8") as fh:
                key = json.load(fh)
        except OSError as exc:
            raise InvalidInputError(f"Connection `{conn_id}`: cannot read `key_path` {path}: {exc.strerror}.") from None
        except ValueError:
            raise InvalidInputError(f"Connection `{conn_id}`: `key_path` {path} is not a JSON key file.") from None
        return _check_key(conn_id, f"key_path {path}", key)
    return None


def _check_key(conn_id: str, where: str, key: Any) -> dict[str, Any]:
    if not isinstance(key, dict) or key.get("type") != "service_account":
        raise InvalidInputError(
            f'Connection `{conn_id}`: {where} is not a service-account key (expected "type": "service_account").'
        )
    return key


def linked_gcp_conn_id(conn: Any) -> str | None:
    """The ``gcp_conn_id`` extra of a ``gemini_tuning`` connection: whose Google Cloud credentials it uses."""
    if is_gcp_connection(conn):
        return None
    extra = conn.extra_dejson or {}
    return extra.get("gcp_conn_id") or extra.get("extra__gemini_tuning__gcp_conn_id") or None


def vertex_credentials_values(
    conn: Any, values: Mapping[str, Any], gcp_conn: Any = None, impersonation_chain: Any = None
) -> dict[str, Any]:
    """The credential settings of a connection, for ``ConnectionSettings``.

    A ``google_cloud_platform`` connection (``conn`` itself, or ``gcp_conn`` named by ``gcp_conn_id``)
    means Vertex AI with its credentials and project. A ``gemini_tuning`` connection on Vertex AI
    keeps its own ``keyfile_dict`` (or application-default credentials), now also impersonable.
    """
    from gemini_tuning.backends import normalize_backend_name

    source = conn if is_gcp_connection(conn) else gcp_conn
    chain = parse_impersonation_chain(impersonation_chain)
    backend = "vertex_ai" if source is not None else normalize_backend_name(values.get("backend"))
    if backend != "vertex_ai":
        if chain or values.get("gcp_conn_id"):
            what = "impersonation_chain" if chain else "gcp_conn_id"
            raise InvalidInputError(f"Connection `{conn.conn_id}`: `{what}` applies to the vertex_ai backend only.")
        return {}
    borrowed = source is not None and source is not conn  # named by gcp_conn_id
    if borrowed and (values.get("keyfile_dict") or values.get("access_token")):
        raise InvalidInputError(
            f"Connection `{conn.conn_id}` names gcp_conn_id `{source.conn_id}` and has its own keyfile_dict/access_token; "
            "keep one source of credentials."
        )
    if values.get("access_token"):
        if chain:
            raise InvalidInputError(
                f"Connection `{conn.conn_id}`: impersonation needs a key or ADC, not an access_token."
            )
        return {"backend": backend}
    google_cloud = (
        GoogleCloudCredentials.from_connection(source)
        if source is not None
        else GoogleCloudCredentials(
            conn_id=conn.conn_id or "", project=values.get("project"), keyfile_dict=values.get("keyfile_dict")
        )
    )
    return {
        "backend": backend,
        "project": values.get("project") or google_cloud.project,
        "google_cloud": google_cloud,
        "impersonation_chain": chain,
    }
