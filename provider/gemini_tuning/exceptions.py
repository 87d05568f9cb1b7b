"""Every error this provider raises, under one root.

| class | raised when | retried by Airflow |
|---|---|---|
| :class:`GeminiTuningError` | root; never raised itself | yes |
| :class:`InvalidInputError` | bad input found before any remote call (dataset, arguments, connection) | **no** |
| :class:`ServiceError` | the service refused a request (400, 401, 403, 409 ...) | yes |
| :class:`NotFoundError` | the service answered 404 | yes |
| :class:`TransientServiceError` | 408/429/5xx or a transport error that outlasted the client's retries | yes |
| :class:`TuningJobFailed` | the tuning job ended FAILED, CANCELLED or EXPIRED | yes |
| :class:`TuningJobTimeout` | the job did not finish before the task's deadline | yes |
| :class:`TuningJobSensorTimeout` | ... before a ``TuningJobSensor``'s ``timeout`` (the job keeps running) | **no** |
| :class:`GateFailed` | an evaluation gate was not met | **no** |

``http_status`` is the HTTP status code (``404``), ``status`` the Google status name
(``NOT_FOUND``); either may be ``None``. Errors pickle (the triggerer and XCom need that).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSensorTimeout

SCOPES_HINT = (
    "The request had insufficient authentication scopes. For the Gemini API use an API key in the "
    "connection's password field (recommended), or OAuth credentials that carry the "
    "generative-language scopes; see https://ai.google.dev/gemini-api/docs/oauth."
)

#: HTTP statuses worth retrying (the client's retry policy and the trigger's use the same list).
TRANSIENT_HTTP_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class GeminiTuningError(AirflowException):
    """Root of every error this provider raises."""

    def __init__(self, message: str, *, http_status: int | None = None, status: str | None = None):
        self.message = message
        self.http_status = http_status
        self.status = status
        super().__init__(self._render())

    def _render(self) -> str:
        where = " ".join(filter(None, (self.status, f"(HTTP {self.http_status})" if self.http_status else None)))
        return f"{where}: {self.message}" if where else self.message

    def __str__(self) -> str:
        return self._render()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls: type[GeminiTuningError], state: dict[str, Any]) -> GeminiTuningError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, error._render())
    return error


class InvalidInputError(GeminiTuningError, AirflowFailException):
    """Bad input (dataset, arguments, connection), found before any remote call. Not retried."""


class ServiceError(GeminiTuningError):
    """The service refused a request; ``http_status`` and ``status`` say how."""

    def __init__(self, message: str, *, http_status: int | None = None, status: str | None = None):
        if http_status == 403 and "insufficient authentication scopes" in (message or "").lower():
            message = f"{message} -- {SCOPES_HINT}"
        super().__init__(message, http_status=http_status, status=status)


class NotFoundError(ServiceError):
    """HTTP 404: the job or model does not exist (any more)."""


class TransientServiceError(ServiceError):
    """A transient failure (HTTP 408/429/5xx, connection refused, timeout) that outlasted the retries."""


class TuningJobFailed(GeminiTuningError):
    """The tuning job ended FAILED, CANCELLED or EXPIRED."""


class TuningJobTimeout(GeminiTuningError):
    """The tuning job did not finish before the task's deadline."""


class TuningJobSensorTimeout(TuningJobTimeout, AirflowSensorTimeout):
    """A ``TuningJobSensor``'s timeout passed before the job finished. Not retried (sensor semantics)."""


class GateFailed(GeminiTuningError, AirflowFailException):
    """An evaluation quality gate was not met. Not retried: the same model gives the same answer."""


def service_error(message: str, *, http_status: int | None = None, status: str | None = None) -> ServiceError:
    """The :class:`ServiceError` subclass that fits ``http_status``."""
    if http_status == 404:
        cls: type[ServiceError] = NotFoundError
    elif http_status is None or http_status in TRANSIENT_HTTP_STATUSES:
        cls = TransientServiceError
    else:
        cls = ServiceError
    return cls(message, http_status=http_status, status=status)


@contextmanager
def translate_errors(secrets: list[str] | tuple[str, ...] = (), url: str | None = None):
    """Turn google-genai / transport errors into :class:`ServiceError` subclasses, scrubbing secrets.

    ``url`` (the base URL tried) is named in transport errors such as "connection refused".
    """
    from google.auth import exceptions as auth_errors
    from google.genai import errors

    try:
        yield
    except errors.APIError as exc:
        message = _scrub(str(exc.message or exc), secrets)
        raise service_error(message, http_status=exc.code, status=exc.status) from None
    except auth_errors.GoogleAuthError as exc:  # getting a token: a key, ADC, impersonation
        raise _credentials_error(exc, secrets) from None
    except (OSError, TimeoutError) as exc:
        raise _transport_error(exc, secrets, url) from None
    except Exception as exc:
        if type(exc).__module__.startswith(("httpx", "httpcore", "aiohttp")):  # neither OSError nor TimeoutError
            raise _transport_error(exc, secrets, url) from None
        raise


def _credentials_error(exc: Exception, secrets) -> GeminiTuningError:
    """No credentials at all is a configuration error; a refused or failed token request a service error."""
    from google.auth import exceptions as auth_errors

    detail = _scrub(str(exc.args[0]) if exc.args else str(exc), secrets)
    if isinstance(exc, auth_errors.DefaultCredentialsError):
        return InvalidInputError(
            f"No usable Google Cloud credentials: {detail}. Set `key_path` or `keyfile_dict` on the Google Cloud "
            "connection (or on a gemini_tuning one), or configure application-default credentials."
        )
    message = f"Could not get a Google Cloud access token ({type(exc).__name__}): {detail}"
    if isinstance(exc, auth_errors.TransportError) or getattr(exc, "retryable", False):
        return TransientServiceError(message)
    return ServiceError(message, http_status=401, status="UNAUTHENTICATED")


def _transport_error(exc: BaseException, secrets, url: str | None) -> TransientServiceError:
    where = f" (while calling {url})" if url else ""
    return TransientServiceError(_scrub(f"{type(exc).__name__}: {exc}{where}", secrets))


def _scrub(text: str, secrets) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
