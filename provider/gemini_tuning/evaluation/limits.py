"""Limits of tuned models, checked before the first request (a clear error instead of a remote 400).

"Limitations of tuned models" (ai.google.dev/gemini-api/docs/model-tuning): on the Gemini API a tuned model
takes at most 40,000 input characters, no JSON mode, no system instruction, text input only. A Vertex AI
tuned model keeps its base model's limits, so there only "text only" applies. Which limits apply is the
backend's :class:`~gemini_tuning.backends.Capabilities` (``limits.max_input_chars``, ``system_instruction``,
``json_mode``); this module compares no backend names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gemini_tuning.exceptions import InvalidInputError

MAX_LISTED = 10
_JSON_MIME = "application/json"
_SCHEMA_KEYS = ("response_schema", "responseSchema", "response_json_schema", "responseJsonSchema")


class TunedModelLimitError(InvalidInputError):
    """A request would break a documented tuned-model limit; nothing has been sent."""


def check_generation_config(config: Mapping[str, Any] | None) -> None:
    """``generation_config`` must be valid ``GenerateContentConfig`` fields (google-genai checks them per request)."""
    if not config:
        return
    from google.genai import types
    from pydantic import ValidationError

    try:
        types.GenerateContentConfig.model_validate(dict(config))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise InvalidInputError(
            f"generation_config is not a valid google-genai GenerateContentConfig: {problems}"
        ) from None


def _get(config: Mapping[str, Any], snake: str, camel: str) -> Any:
    return config.get(snake, config.get(camel))


def config_problems(config: Mapping[str, Any] | None, capabilities: Any) -> list[str]:
    """Problems of the generation config for a tuned model of the backend with ``capabilities``."""
    if not config:
        return []
    problems = []
    service = capabilities.label
    if not capabilities.system_instruction and _get(config, "system_instruction", "systemInstruction"):
        problems.append(f"generation_config sets a system instruction; {service} tuned models do not support one")
    if not capabilities.json_mode:
        mime = _get(config, "response_mime_type", "responseMimeType")
        if isinstance(mime, str) and mime.strip().lower() == _JSON_MIME:
            problems.append(
                f"generation_config sets response_mime_type={mime!r} (JSON mode); {service} tuned models do not "
                "support it"
            )
        if any(config.get(key) is not None for key in _SCHEMA_KEYS):
            problems.append(
                f"generation_config sets a response schema (JSON mode); {service} tuned models do not support it"
            )
    modalities = _get(config, "response_modalities", "responseModalities")
    if modalities and any(str(m).upper() != "TEXT" for m in modalities):
        problems.append(
            f"generation_config asks for response_modalities={list(modalities)}; tuned models are text only"
        )
    return problems


def example_problems(example: Any, capabilities: Any) -> list[str]:
    """Problems of one :class:`~gemini_tuning.evaluation.examples.EvalExample` for a tuned model."""
    problems = []
    service = capabilities.label
    if example.non_text:
        problems.append(f"has non-text parts ({', '.join(example.non_text)}); tuned models take text input only")
    limit = capabilities.limits.max_input_chars
    if limit is not None and len(example.input) > limit:
        problems.append(
            f"input is {len(example.input):,} characters; a {service} tuned model accepts at most {limit:,}"
        )
    if not capabilities.system_instruction and example.system_instruction:
        problems.append(f"has a system instruction; {service} tuned models do not support one")
    return problems


def check_tuned_model_request(
    examples: Iterable[Any],
    config: Mapping[str, Any] | None,
    capabilities: Any,
    *,
    model: str = "the tuned model",
    source: str = "",
) -> None:
    """Raise :class:`TunedModelLimitError` listing every broken limit (the first examples by line)."""
    problems = [f"  - {p}" for p in config_problems(config, capabilities)]
    bad = 0
    for example in examples:
        found = example_problems(example, capabilities)
        if found:
            bad += 1
            if bad <= MAX_LISTED:
                where = f"{source} line {example.line}" if source else f"example {example.line}"
                problems += [f"  - {where}: {p}" for p in found]
    if not problems:
        return
    more = f"\n  ... and {bad - MAX_LISTED} more examples" if bad > MAX_LISTED else ""
    raise TunedModelLimitError(
        f"Not calling {model} ({capabilities.label}): the request would break documented tuned-model limits "
        f"(see 'Limitations of tuned models'):\n" + "\n".join(problems) + more
    )
