"""How emulated models answer ``generateContent``.

* A tuned model answers with the output of the training example whose input is most
  similar to the prompt (exact input -> its output; otherwise ``difflib`` similarity,
  ties broken by example order). This makes a tuned model measurably "learn" its data.
* A base model answers a fixed, generic sentence that quotes the prompt, so a
  base-vs-tuned evaluation shows a real difference.
"""

from __future__ import annotations

import difflib
import math
from typing import Any

from gemini_tuning.emulator.errors import invalid


def count_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: about four characters per token."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


def content_text(content: dict[str, Any]) -> str:
    parts = content.get("parts") or []
    return "".join(p.get("text", "") for p in parts if isinstance(p, dict))


def prompt_of(body: dict[str, Any]) -> tuple[str, int]:
    """Return (text of the last user turn, characters across all turns) of a request."""
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise invalid("* GenerateContentRequest.contents: contents is not specified")
    total = 0
    last_user = ""
    for content in contents:
        if not isinstance(content, dict):
            raise invalid("Invalid JSON payload received. 'contents' must be a list of Content objects.")
        text = content_text(content)
        total += len(text)
        if content.get("role", "user") == "user":
            last_user = text
    if not any(content_text(c) for c in contents):
        raise invalid("* GenerateContentRequest.contents[0].parts: contents.parts must not be empty.")
    return last_user, total


def best_match(prompt: str, examples: list[tuple[str, str]]) -> str:
    """Output of the example whose input is closest to ``prompt``."""
    if not examples:
        return ""
    key = prompt.strip()
    for text_input, output in examples:
        if text_input.strip() == key:
            return output
    best_score, best_output = -1.0, examples[0][1]
    for text_input, output in examples:
        matcher = difflib.SequenceMatcher(None, key.lower(), text_input.strip().lower(), autojunk=False)
        score = matcher.ratio()
        if score > best_score:
            best_score, best_output = score, output
    return best_output


def base_answer(model: str, prompt: str) -> str:
    short = prompt.strip().replace("\n", " ")
    if len(short) > 200:
        short = short[:197] + "..."
    return f"As a general-purpose assistant ({model.rsplit('/', 1)[-1]}), here is my answer to: {short}"


def generate_response(text: str, prompt_chars: int, model_version: str) -> dict[str, Any]:
    """The GenerateContentResponse wire shape (shared by both backends)."""
    prompt_tokens = max(1, math.ceil(prompt_chars / 4))
    out_tokens = count_tokens(text)
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": text}]},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": out_tokens,
            "totalTokenCount": prompt_tokens + out_tokens,
        },
        "modelVersion": model_version,
    }


def answer_tuned(
    body: dict[str, Any], examples: list[tuple[str, str]], model_version: str, max_chars: int | None = None
) -> dict[str, Any]:
    """A tuned model's GenerateContentResponse: the closest training example's output."""
    prompt, chars = prompt_of(body)
    if max_chars is not None and chars > max_chars:
        raise invalid(f"Input is too long: {chars} characters; tuned models accept at most {max_chars}.")
    return generate_response(best_match(prompt, examples), chars, model_version)


def answer_base(body: dict[str, Any], model: str, model_version: str) -> dict[str, Any]:
    """A base model's GenerateContentResponse: a generic sentence quoting the prompt."""
    prompt, chars = prompt_of(body)
    return generate_response(base_answer(model, prompt), chars, model_version)
