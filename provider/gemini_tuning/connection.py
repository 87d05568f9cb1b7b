"""Settings read from a ``gemini_tuning`` Airflow connection, and the google-genai client built from them."""

from __future__ import annotations

import json
import warnings
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretStr, ValidationError, field_validator

from gemini_tuning import CONN_TYPE
from gemini_tuning.backends import DEFAULT_BACKEND, backend_for, capabilities_for, normalize_backend_name
from gemini_tuning.exceptions import TRANSIENT_HTTP_STATUSES, InvalidInputError

if TYPE_CHECKING:
    from google import genai

RETRY_STATUS_CODES = sorted(TRANSIENT_HTTP_STATUSES)
# The service-account key extra. Airflow redacts extras by name (``keyfile_dict`` is in its sensitive
# fields, as in the Google provider); the old name ``key_json`` is not, so it is read with a warning.
KEYFILE_EXTRA, DEPRECATED_KEYFILE_EXTRA = "keyfile_dict", "key_json"


class ConnectionSettings(BaseModel):
    """Everything the hook needs from the connection. Secrets stay ``SecretStr`` (never printed)."""

    backend: str = DEFAULT_BACKEND
    api_key: SecretStr | None = None
    project: str | None = None
    location: str = "us-central1"
    keyfile_dict: SecretStr | None = None
    access_token: SecretStr | None = None
    base_url: str | None = None
    #: the ``base_url`` is this project's emulator: console links point to its job pages
    emulator: bool = False
    api_version: str | None = None
    timeout: float = 60.0
    retries: int = 5
    retry_initial_delay: float = 1.0
    retry_max_delay: float = 30.0

    @field_validator("backend", mode="before")
    @classmethod
    def _normalize_backend(cls, value: Any) -> str:
        return normalize_backend_name(value)

    @classmethod
    def from_connection(cls, conn: Any) -> ConnectionSettings:
        """Read a connection; a wrong type or a bad extra is one :class:`InvalidInputError` line."""
        if conn.conn_type and conn.conn_type != CONN_TYPE:
            raise InvalidInputError(
                f"Connection {conn.conn_id!r} is of type {conn.conn_type!r}; the Gemini tuning provider needs a "
                f"connection of type {CONN_TYPE!r} (API key as password, `backend` and the rest in the extra)."
            )
        extra = dict(conn.extra_dejson or {})
        # Tolerate the UI's legacy ``extra__gemini_tuning__field`` prefix.
        extra = {k.removeprefix("extra__gemini_tuning__"): v for k, v in extra.items()}
        _read_deprecated_keyfile(extra)
        values = {k: v for k, v in extra.items() if k in cls.model_fields and v not in (None, "")}
        if isinstance(values.get(KEYFILE_EXTRA), dict):
            values[KEYFILE_EXTRA] = json.dumps(values[KEYFILE_EXTRA])
        if conn.password:
            values["api_key"] = conn.password
        if not values.get("base_url") and conn.host:
            scheme = conn.schema or "http"
            port = f":{conn.port}" if conn.port else ""
            values["base_url"] = f"{scheme}://{conn.host}{port}"
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = "; ".join(f"`{'.'.join(map(str, e['loc']))}`: {e['msg']}" for e in exc.errors())
            raise InvalidInputError(f"Connection {conn.conn_id!r} has a bad extra: {problems}.") from None

    @property
    def effective_api_version(self) -> str:
        return self.api_version or capabilities_for(self.backend).default_api_version

    def secrets(self) -> list[str]:
        return [s.get_secret_value() for s in (self.api_key, self.keyfile_dict, self.access_token) if s]

    def http_options(self) -> dict[str, Any]:
        """google-genai ``HttpOptions`` as a dict: base URL, version, timeout (ms) and retry policy."""
        options: dict[str, Any] = {
            "api_version": self.effective_api_version,
            "timeout": int(self.timeout * 1000),
            "retry_options": {
                "attempts": self.retries,
                "initial_delay": self.retry_initial_delay,
                "max_delay": self.retry_max_delay,
                "exp_base": 2.0,
                "jitter": 0.5 if self.retry_initial_delay >= 0.5 else 0.0,
                "http_status_codes": RETRY_STATUS_CODES,
            },
        }
        if self.base_url:
            options["base_url"] = self.base_url.rstrip("/") + "/"
        return options

    def build_client(self) -> genai.Client:
        """The google-genai client for this connection's backend."""
        return backend_for(self).build_client()


def _read_deprecated_keyfile(extra: dict[str, Any]) -> None:
    """Move the old ``key_json`` extra to ``keyfile_dict`` (unless that is set), with a deprecation warning."""
    value = extra.pop(DEPRECATED_KEYFILE_EXTRA, None)
    if value in (None, ""):
        return
    from airflow.exceptions import AirflowProviderDeprecationWarning

    warnings.warn(
        f"The `{DEPRECATED_KEYFILE_EXTRA}` connection extra is deprecated: Airflow's REST API and UI show it in "
        f"clear. Rename it to `{KEYFILE_EXTRA}`, which Airflow redacts.",
        AirflowProviderDeprecationWarning,
        stacklevel=3,
    )
    if extra.get(KEYFILE_EXTRA) in (None, ""):
        extra[KEYFILE_EXTRA] = value
