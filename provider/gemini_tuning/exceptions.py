"""Provider exceptions."""

from __future__ import annotations

from contextlib import contextmanager

from airflow.exceptions import AirflowException

SCOPES_HINT = (
    "The request had insufficient authentication scopes. For the Gemini API use an API key in the "
    "connection's password field (recommended), or OAuth credentials that carry the "
    "generative-language scopes; see https://ai.google.dev/gemini-api/docs/oauth."
)


class GeminiTuningError(AirflowException):
    """A remote call failed. Carries the HTTP code, the service's status and its message."""

    def __init__(self, message: str, *, code: int | None = None, status: str | None = None):
        self.code = code
        self.status = status
        self.remote_message = message
        prefix = f"{code} {status}: " if code else ""
        if code == 403 and "insufficient authentication scopes" in (message or "").lower():
            message = f"{message} -- {SCOPES_HINT}"
        super().__init__(f"{prefix}{message}")

    def __reduce__(self):
        return (_rebuild, (self.remote_message, self.code, self.status))


def _rebuild(message, code, status):
    return GeminiTuningError(message, code=code, status=status)


class TuningJobFailed(GeminiTuningError):
    """The tuning job ended FAILED, CANCELLED or EXPIRED."""


class InvalidTuningParameters(ValueError):
    """Bad hyperparameters or arguments, raised before any remote call."""


class NotFoundError(GeminiTuningError):
    """HTTP 404 from the service: the job or model does not exist (any more)."""


@contextmanager
def translate_errors(secrets: list[str] | tuple[str, ...] = ()):
    """Turn google-genai / transport errors into :class:`GeminiTuningError`, scrubbing any secret."""
    from google.genai import errors

    try:
        yield
    except errors.APIError as exc:
        message = _scrub(str(exc.message or exc), secrets)
        cls = NotFoundError if exc.code == 404 else GeminiTuningError
        raise cls(message, code=exc.code, status=exc.status) from None
    except (OSError, TimeoutError) as exc:  # httpx transport errors derive from neither; see below
        raise GeminiTuningError(_scrub(f"{type(exc).__name__}: {exc}", secrets)) from None
    except Exception as exc:
        if type(exc).__module__.startswith(("httpx", "aiohttp")):
            raise GeminiTuningError(_scrub(f"{type(exc).__name__}: {exc}", secrets)) from None
        raise


def _scrub(text: str, secrets) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
