"""Documented limits of tuned models, checked before the first request (a clear error instead of a remote 400).

From "Limitations of tuned models" (ai.google.dev/gemini-api/docs/model-tuning): input of at most 40,000
characters, no JSON mode, no system instruction, text input only. These are Gemini API limits; on Vertex AI
a tuned model keeps its base model's limits, so there only "text only" is enforced.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gemini_tuning.backends.gemini_api import CAPABILITIES as _GEMINI_API

GEMINI_MAX_INPUT_CHARS = _GEMINI_API.limits.max_input_chars

MAX_LISTED = 10
_JSON_MIME = "application/json"
_SCHEMA_KEYS = ("response_schema", "responseSchema", "response_json_schema", "responseJsonSchema")


class TunedModelLimitError(ValueError):
    """A request would break a documented tuned-model limit; nothing has been sent."""


def _get(config: Mapping[str, Any], snake: str, camel: str) -> Any:
    return config.get(snake, config.get(camel))


def config_problems(config: Mapping[str, Any] | None, backend: str) -> list[str]:
    """Problems of the generation config for a tuned model on ``backend``."""
    if not config:
        return []
    problems = []
    gemini = backend == "gemini_api"
    if gemini and _get(config, "system_instruction", "systemInstruction"):
        problems.append("generation_config sets a system instruction; Gemini API tuned models do not support one")
    mime = _get(config, "response_mime_type", "responseMimeType")
    if gemini and isinstance(mime, str) and mime.strip().lower() == _JSON_MIME:
        problems.append(
            f"generation_config sets response_mime_type={mime!r} (JSON mode); Gemini API tuned models do not support it"
        )
    if gemini and any(config.get(key) is not None for key in _SCHEMA_KEYS):
        problems.append(
            "generation_config sets a response schema (JSON mode); Gemini API tuned models do not support it"
        )
    modalities = _get(config, "response_modalities", "responseModalities")
    if modalities and any(str(m).upper() != "TEXT" for m in modalities):
        problems.append(
            f"generation_config asks for response_modalities={list(modalities)}; tuned models are text only"
        )
    return problems


def example_problems(example: Any, backend: str) -> list[str]:
    """Problems of one :class:`~gemini_tuning.evaluation.examples.EvalExample` for a tuned model on ``backend``."""
    problems = []
    if example.non_text:
        problems.append(f"has non-text parts ({', '.join(example.non_text)}); tuned models take text input only")
    if backend == "gemini_api":
        if len(example.input) > GEMINI_MAX_INPUT_CHARS:
            problems.append(
                f"input is {len(example.input):,} characters; a Gemini API tuned model accepts at most "
                f"{GEMINI_MAX_INPUT_CHARS:,}"
            )
        if example.system_instruction:
            problems.append("has a system instruction; Gemini API tuned models do not support one")
    return problems


def check_tuned_model_request(
    examples: Iterable[Any],
    config: Mapping[str, Any] | None,
    backend: str,
    *,
    model: str = "the tuned model",
    source: str = "",
) -> None:
    """Raise :class:`TunedModelLimitError` listing every broken limit (the first examples by line)."""
    problems = [f"  - {p}" for p in config_problems(config, backend)]
    bad = 0
    for example in examples:
        found = example_problems(example, backend)
        if found:
            bad += 1
            if bad <= MAX_LISTED:
                where = f"{source} line {example.line}" if source else f"example {example.line}"
                problems += [f"  - {where}: {p}" for p in found]
    if not problems:
        return
    more = f"\n  ... and {bad - MAX_LISTED} more examples" if bad > MAX_LISTED else ""
    raise TunedModelLimitError(
        f"Not calling {model} ({backend}): the request would break documented tuned-model limits "
        f"(see 'Limitations of tuned models'):\n" + "\n".join(problems) + more
    )
