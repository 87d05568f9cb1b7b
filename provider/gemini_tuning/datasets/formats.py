"""Tuning example formats and the conversion between them.

* Gemini API: ``{"text_input": "...", "output": "..."}`` (``textInput`` is accepted on input).
* Vertex AI supervised tuning: ``{"systemInstruction"?: {"parts": [{"text": ...}]},
  "contents": [{"role": "user", "parts": [{"text": ...}]}, {"role": "model", "parts": [{"text": ...}]}]}``.

Single-turn text examples convert losslessly both ways; multi-turn conversations and system
instructions exist only in the Vertex format.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


class Part(TypedDict):
    text: str


class Content(TypedDict):
    role: Literal["user", "model"]
    parts: list[Part]


class TextPairExample(TypedDict):
    """One Gemini API tuning example."""

    text_input: str
    output: str


class ContentsExample(TypedDict):
    """One Vertex AI supervised tuning example (one JSONL line)."""

    contents: list[Content]
    systemInstruction: NotRequired[dict[str, Any]]


def text_pair_example(text_input: str, output: str) -> TextPairExample:
    return {"text_input": text_input, "output": output}


def contents_example(text_input: str, output: str, system_instruction: str | None = None) -> ContentsExample:
    example: ContentsExample = {
        "contents": [
            {"role": "user", "parts": [{"text": text_input}]},
            {"role": "model", "parts": [{"text": output}]},
        ]
    }
    if system_instruction is not None:
        example["systemInstruction"] = {"parts": [{"text": system_instruction}]}
    return example


def content_text(content: dict[str, Any]) -> str:
    """The concatenated text of a ``Content`` (or ``systemInstruction``) object's parts."""
    return "".join(part["text"] for part in content.get("parts") or ())


def to_text_pair(example: dict[str, Any]) -> tuple[str, str]:
    """``(input, output)`` of a single-turn example in either format.

    Used by the tuning and evaluation steps to read staged files back. Raises
    :class:`~gemini_tuning.exceptions.InvalidInputError` for a multi-turn conversation, a system instruction
    (it has no place in a text pair) or an unknown shape.
    """
    if "contents" in example:
        contents = example["contents"]
        if example.get("systemInstruction"):
            raise _invalid("example has a systemInstruction; it cannot be expressed as a text pair")
        roles = [turn.get("role") for turn in contents]
        if roles != ["user", "model"]:
            raise _invalid(f"not a single-turn example: roles {roles}, expected ['user', 'model']")
        return content_text(contents[0]), content_text(contents[1])
    text_input = example.get("text_input", example.get("textInput"))
    if text_input is None or "output" not in example:
        raise _invalid(f"not a tuning example: keys {sorted(example)}")
    return text_input, example["output"]


def to_backend(example: dict[str, Any], backend: str) -> dict[str, Any]:
    """Convert an example of either format to the format backend ``backend`` reads (``InvalidInputError`` if
    not meaningful, e.g. a conversation for a backend that reads text pairs)."""
    from gemini_tuning.backends import capabilities_for

    if capabilities_for(backend).dataset_format == "text_pair":
        return text_pair_example(*to_text_pair(example))
    if "contents" in example:
        return example
    return contents_example(*to_text_pair(example))


def _invalid(message: str) -> Exception:
    from gemini_tuning.exceptions import InvalidInputError

    return InvalidInputError(message)
