"""How emulated models answer ``generateContent``.

* A tuned model answers with the output of the training example whose input is most
  similar to the prompt (exact input -> its output; otherwise ``difflib`` similarity,
  ties broken by example order). This makes a tuned model measurably "learn" its data.
  A Vertex checkpoint may know less (early epochs) or generalise worse (over-trained): see
  :class:`Skill`; a wrong answer is the runner-up example's output.
* A base model answers a fixed, generic sentence that quotes the prompt, so a
  base-vs-tuned evaluation shows a real difference.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any

from gemini_tuning.emulator.curves import unit
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


def _ranking(prompt: str, examples: list[tuple[str, str]]) -> list[int]:
    """Example indices, closest input first: an exact input, then ``difflib`` ratio (ties: file order)."""
    key = prompt.strip()

    def score(i: int) -> float:
        text_input = examples[i][0].strip()
        if text_input == key:
            return 2.0
        return difflib.SequenceMatcher(None, key.lower(), text_input.lower(), autojunk=False).ratio()

    return sorted(range(len(examples)), key=lambda i: -score(i))


@dataclass(frozen=True)
class Skill:
    """How well a checkpoint learned its data (1.0 and 0.0: it answers every prompt like its closest example).

    ``learned`` is the fraction of training examples it reproduces; ``overfit`` the fraction of
    prompts that are not training inputs which it answers wrongly. ``seed`` makes both
    deterministic, and nested: a checkpoint that learned more knows everything a weaker one knew.
    """

    seed: str = ""
    learned: float = 1.0
    overfit: float = 0.0


def best_match(prompt: str, examples: list[tuple[str, str]], skill: Skill = Skill()) -> str:
    """Output of the example whose input is closest to ``prompt``, or the runner-up's when not learned."""
    if not examples:
        return ""
    ranking = _ranking(prompt, examples)
    best = ranking[0]
    wrong = examples[ranking[1]][1] if len(ranking) > 1 else ""
    if unit(f"{skill.seed}:learned:{best}") >= skill.learned:
        return wrong
    exact = examples[best][0].strip() == prompt.strip()
    if not exact and unit(f"{skill.seed}:overfit:{prompt.strip()}") < skill.overfit:
        return wrong
    return examples[best][1]


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
    body: dict[str, Any],
    examples: list[tuple[str, str]],
    model_version: str,
    max_chars: int | None = None,
    skill: Skill = Skill(),
) -> dict[str, Any]:
    """A tuned model's GenerateContentResponse: the closest training example's output."""
    prompt, chars = prompt_of(body)
    if max_chars is not None and chars > max_chars:
        raise invalid(f"Input is too long: {chars} characters; tuned models accept at most {max_chars}.")
    return generate_response(best_match(prompt, examples, skill), chars, model_version)


def answer_base(body: dict[str, Any], model: str, model_version: str) -> dict[str, Any]:
    """A base model's GenerateContentResponse: a generic sentence quoting the prompt."""
    prompt, chars = prompt_of(body)
    return generate_response(base_answer(model, prompt), chars, model_version)
