"""Everything that differs between the tuning services lives in this package.

One module per service (:mod:`.gemini_api`, :mod:`.vertex_ai`), each with a :class:`Capabilities`
record (limits, hyperparameters, dataset format, staging scheme, cancel semantics, ...) and a
:class:`TuningBackend` that turns a :class:`~gemini_tuning.models.TuningJobSpec` into remote
calls. The rest of the provider asks these objects questions instead of comparing names; adding a
service means adding a module here (and to the emulator).

Importing this package is cheap: google-genai is imported inside methods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gemini_tuning.backends import gemini_api, vertex_ai
from gemini_tuning.backends.base import Capabilities, Limits, TuningBackend
from gemini_tuning.exceptions import InvalidInputError
from gemini_tuning.models import TuningJobSpec

if TYPE_CHECKING:
    from gemini_tuning.connection import ConnectionSettings

_BACKENDS: dict[str, type[TuningBackend]] = {
    gemini_api.CAPABILITIES.name: gemini_api.GeminiApiBackend,
    vertex_ai.CAPABILITIES.name: vertex_ai.VertexAIBackend,
}
#: Every backend's capabilities by name, in a stable order (the first is the default).
CAPABILITIES: dict[str, Capabilities] = {name: cls.capabilities for name, cls in _BACKENDS.items()}
#: The backend a connection uses when it names none.
DEFAULT_BACKEND = next(iter(CAPABILITIES))
#: All backend names, e.g. for a CLI's ``choices``.
BACKEND_NAMES = tuple(CAPABILITIES)


def normalize_backend_name(value: object) -> str:
    """``"Vertex-AI"`` -> ``"vertex_ai"``; an empty value is the default backend. Unknown names raise."""
    name = str(value or DEFAULT_BACKEND).strip().lower().replace("-", "_")
    if name not in CAPABILITIES:
        raise InvalidInputError(f"Unknown backend {value!r}; expected one of: {', '.join(BACKEND_NAMES)}.")
    return name


def capabilities_for(name: str) -> Capabilities:
    """The :class:`Capabilities` of backend ``name`` (:class:`InvalidInputError` if unknown)."""
    return CAPABILITIES[normalize_backend_name(name)]


def backend_for(settings: ConnectionSettings) -> TuningBackend:
    """The backend the connection's settings select."""
    return _BACKENDS[normalize_backend_name(settings.backend)](settings)


def backend_of(conn_id: str) -> str:
    """The backend a connection uses, for templates: ``DAG(user_defined_macros={"backend_of": backend_of})``
    and ``backend="{{ backend_of(params.gemini_conn_id) }}"`` keep a DAG free of backend literals."""
    from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook

    return GeminiTuningHook(gemini_conn_id=conn_id).backend_name


__all__ = [
    "BACKEND_NAMES",
    "CAPABILITIES",
    "DEFAULT_BACKEND",
    "Capabilities",
    "Limits",
    "TuningBackend",
    "TuningJobSpec",
    "backend_for",
    "backend_of",
    "capabilities_for",
    "normalize_backend_name",
]
