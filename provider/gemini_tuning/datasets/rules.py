"""Validation rules: per-example checks (:class:`ExampleChecker`) and dataset-level limits (:func:`dataset_checks`).

Limits come from the Gemini API fine-tuning page and the Vertex AI supervised tuning docs.
"""

from __future__ import annotations

import json
import re
import string
from typing import Any

from gemini_tuning.datasets.formats import GEMINI_API, VERTEX_AI

# Gemini API (ai.google.dev/gemini-api/docs/model-tuning)
GEMINI_MAX_INPUT_CHARS = 40_000
GEMINI_MAX_OUTPUT_CHARS = 5_000
GEMINI_MIN_EXAMPLES = 20
GEMINI_RECOMMENDED_MIN_EXAMPLES = 100
GEMINI_RECOMMENDED_MAX_EXAMPLES = 500
GEMINI_MAX_INLINE_BYTES = 4_000_000  # "File size limit is 4 MB"; decimal MB, the conservative reading
# Vertex AI supervised tuning
VERTEX_MAX_FILE_BYTES = 1_000_000_000  # 1 GB, decimal
VERTEX_MAX_EXAMPLES = 1_000_000
VERTEX_MAX_VALIDATION_EXAMPLES = 5_000

# C0 controls except tab, LF, CR; and DEL
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ROLES = ("user", "model")

Problems = list[tuple[str, str]]


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}.get(
        type(value), type(value).__name__
    )


def text_problems(field: str, value: Any, max_chars: int = 0) -> Problems:
    """Problems of one text value: missing, not a string, empty, control characters, too long."""
    if value is None:
        return [(field, "missing field")]
    if type(value) is not str:
        return [(field, f"must be a string, got {json_type(value)}")]
    problems = []
    if not value or value.isspace():
        problems.append((field, "is empty or whitespace-only"))
    if m := CONTROL_CHARS.search(value):
        problems.append((field, f"contains control character U+{ord(m.group()):04X} at character {m.start() + 1}"))
    if max_chars and len(value) > max_chars:
        problems.append((field, f"is {len(value):,} characters; the Gemini API limit is {max_chars:,}"))
    return problems


def template_fields(template: str) -> list[str]:
    """Placeholder names of a ``str.format`` template; ``ValueError`` for bad syntax or unsupported forms."""
    names = []
    try:
        for _, name, _, _ in string.Formatter().parse(template):
            if name is None:
                continue
            if not name.isidentifier():
                raise ValueError(
                    f"prompt_template placeholder {{{name}}} is not supported; use named fields like {{question}}"
                )
            names.append(name)
    except ValueError as exc:
        raise ValueError(f"invalid prompt_template {template!r}: {exc}") from None
    if not names:
        raise ValueError(f"prompt_template {template!r} has no placeholder such as {{question}}")
    return list(dict.fromkeys(names))


class ExampleChecker:
    """Checks one record and returns it normalized for ``backend``.

    :meth:`check` returns ``(example, input_text, output_text, problems)``; ``example`` is ``None`` when
    there are problems. ``input_text`` / ``output_text`` feed de-duplication and length statistics.
    """

    def __init__(
        self,
        backend: str,
        *,
        input_column: str | None = None,
        output_column: str | None = None,
        prompt_template: str | None = None,
    ):
        if backend not in (GEMINI_API, VERTEX_AI):
            raise ValueError(f"unknown backend {backend!r}; expected gemini_api or vertex_ai")
        self.backend = backend
        self.input_column = input_column
        self.output_column = output_column or "output"
        self.template = prompt_template
        self.placeholders = template_fields(prompt_template) if prompt_template else []
        gemini = backend == GEMINI_API
        self.max_in = GEMINI_MAX_INPUT_CHARS if gemini else 0
        self.max_out = GEMINI_MAX_OUTPUT_CHARS if gemini else 0
        # examples rebuilt from another shape (or through the template) rather than kept as they came
        self.converted = 0
        self._pair_converts = 0 if gemini and prompt_template is None and input_column is None else 1
        self._contents_converts = 1 if gemini or prompt_template is not None else 0

    @property
    def columns(self) -> list[str]:
        """The fields a CSV header must have."""
        return [*(self.placeholders or [self.input_column or "text_input"]), self.output_column]

    def check(self, record: Any, controls: bool = True, build: bool = True) -> tuple[Any, str, str, Problems]:
        """``controls=False`` skips the control-character scan when the caller knows there can be none;
        ``build=False`` skips building the normalized example (validation only: ``example`` is ``True``)."""
        if type(record) is not dict:
            return None, "", "", [("record", f"must be a JSON object, got {json_type(record)}")]
        if self.input_column is None and "contents" in record:
            return self._check_contents(record)
        return self._check_pair(record, controls, build)

    # --- text pairs (Gemini API format, CSV rows, any mapping with input/output columns) ---
    def _check_pair(self, record: dict, controls: bool = True, build: bool = True) -> tuple[Any, str, str, Problems]:
        out_field = self.output_column
        out = record.get(out_field)
        if self.template is not None:
            in_field = "text_input"
            inp, problems = self._apply_template(record)
        else:
            in_field = self.input_column
            if in_field is None:
                in_field = "text_input" if "text_input" in record or "textInput" not in record else "textInput"
            inp = record.get(in_field)
            problems = None
        # hot path: two well-formed strings
        if (
            problems is None
            and type(inp) is str
            and type(out) is str
            and not (self.max_in and len(inp) > self.max_in)
            and not (self.max_out and len(out) > self.max_out)
            and inp
            and out
            and not inp.isspace()
            and not out.isspace()
            and not (controls and (CONTROL_CHARS.search(inp) or CONTROL_CHARS.search(out)))
        ):
            self.converted += self._pair_converts
            return self._pair(inp, out) if build else True, inp, out, []
        if problems is None:
            problems = text_problems(in_field, inp, self.max_in)
        problems = problems + text_problems(out_field, out, self.max_out)
        if (
            self.input_column is None
            and self.template is None
            and "text_input" not in record
            and "textInput" not in record
            and "output" not in record
        ):
            problems = [("record", 'expected "text_input" and "output" fields, or "contents"')]
        if problems:
            return None, "", "", problems
        self.converted += self._pair_converts
        return self._pair(inp, out), inp, out, []

    def _pair(self, inp: str, out: str) -> dict:
        if self.backend == GEMINI_API:
            return {"text_input": inp, "output": out}
        return {"contents": [{"role": "user", "parts": [{"text": inp}]}, {"role": "model", "parts": [{"text": out}]}]}

    def _apply_template(self, record: dict, extra: dict | None = None) -> tuple[Any, Problems | None]:
        values, problems = {}, []
        for name in self.placeholders:
            value = extra[name] if extra and name in extra else record.get(name)
            if value is None:
                problems.append((name, f"missing field required by prompt_template placeholder {{{name}}}"))
            elif type(value) is not str:
                problems.append(
                    (name, f"must be a string for prompt_template placeholder {{{name}}}, got {json_type(value)}")
                )
            else:
                values[name] = value
        if problems:
            return None, problems
        return self.template.format_map(values), None

    # --- Vertex contents ---
    def _check_contents(self, record: dict) -> tuple[dict | None, str, str, Problems]:
        contents = record["contents"]
        problems: Problems = []
        if type(contents) is not list or not contents:
            return None, "", "", [("contents", "must be a non-empty list of turns")]
        turns: list[tuple[str, list[str]]] = []
        expected = "user"
        for i, turn in enumerate(contents):
            where = f"contents[{i}]"
            if type(turn) is not dict:
                problems.append((where, f"must be an object, got {json_type(turn)}"))
                expected = "model" if expected == "user" else "user"
                continue
            role = turn.get("role")
            if role not in ROLES:
                problems.append((f"{where}.role", f'must be "user" or "model", got {json.dumps(role)}'))
            elif role != expected:
                problems.append(
                    (f"{where}.role", f'roles must alternate starting with "user": expected "{expected}", got "{role}"')
                )
            texts, part_problems = self._parts(where, turn.get("parts"))
            problems += part_problems
            turns.append((role, texts))
            expected = "model" if (role if role in ROLES else expected) == "user" else "user"
        last_role = contents[-1].get("role") if type(contents[-1]) is dict else None
        if last_role != "model":
            problems.append(("contents", f'the last turn must be "model", got {json.dumps(last_role)}'))
        system = record.get("systemInstruction")
        system_texts: list[str] = []
        if system is not None:
            if self.backend == GEMINI_API:
                problems.append(
                    (
                        "systemInstruction",
                        "is not supported by Gemini API tuning (tuned models do not support system instructions)",
                    )
                )
            elif type(system) is not dict:
                problems.append(("systemInstruction", f"must be an object, got {json_type(system)}"))
            else:
                system_texts, part_problems = self._parts("systemInstruction", system.get("parts"))
                problems += part_problems
        if self.backend == GEMINI_API and len(contents) != 2 and not problems:
            problems.append(
                (
                    "contents",
                    f"has {len(contents)} turns; only single-turn (user, model) examples convert to the Gemini API format",
                )
            )
        if problems:
            return None, "", "", problems

        inp = "".join(turns[0][1]) if len(turns) == 2 else "\n".join(f"{r}: {''.join(t)}" for r, t in turns[:-1])
        out = "".join(turns[-1][1])
        if self.template is not None:
            if len(turns) != 2:
                return None, "", "", [("contents", "prompt_template applies to single-turn examples only")]
            inp, template_problems = self._apply_template(record, {"text_input": inp})
            if template_problems:
                return None, "", "", template_problems
            turns[0] = ("user", [inp])
        if self.backend == GEMINI_API:
            bad = text_problems("contents[0].parts", inp, self.max_in) + text_problems(
                "contents[1].parts", out, self.max_out
            )
            if bad:
                return None, "", "", bad
            self.converted += 1
            return {"text_input": inp, "output": out}, inp, out, []
        example: dict[str, Any] = {}
        if system_texts:
            example["systemInstruction"] = {"parts": [{"text": t} for t in system_texts]}
            inp = "".join(system_texts) + "\n" + inp
        example["contents"] = [{"role": r, "parts": [{"text": t} for t in texts]} for r, texts in turns]
        self.converted += self._contents_converts
        return example, inp, out, []

    def _parts(self, where: str, parts: Any) -> tuple[list[str], Problems]:
        if type(parts) is not list or not parts:
            return [], [(f"{where}.parts", "must be a non-empty list of text parts")]
        texts, problems = [], []
        for j, part in enumerate(parts):
            field = f"{where}.parts[{j}]"
            if type(part) is not dict or "text" not in part:
                kind = ", ".join(sorted(part)) if type(part) is dict else json_type(part)
                problems.append((field, f"only text parts are supported, got {kind or 'an empty object'}"))
                continue
            bad = text_problems(f"{field}.text", part["text"])
            problems += bad
            texts.append(part["text"] if not bad else "")
        return texts, problems


def dataset_checks(
    backend: str, *, train_count: int, validation_count: int, train_bytes: int
) -> tuple[list[str], list[str]]:
    """Dataset-level limits: returns ``(errors, warnings)``."""
    errors, warnings = [], []
    if backend == GEMINI_API:
        if train_count < GEMINI_MIN_EXAMPLES:
            errors.append(f"{train_count} training examples; the Gemini API needs at least {GEMINI_MIN_EXAMPLES}")
        elif train_count < GEMINI_RECOMMENDED_MIN_EXAMPLES:
            warnings.append(
                f"only {train_count} training examples; {GEMINI_RECOMMENDED_MIN_EXAMPLES}-"
                f"{GEMINI_RECOMMENDED_MAX_EXAMPLES} are recommended"
            )
        if train_bytes > GEMINI_MAX_INLINE_BYTES:
            errors.append(
                f"the training data is {train_bytes:,} bytes; the Gemini API inline upload limit is 4 MB "
                f"({GEMINI_MAX_INLINE_BYTES:,} bytes)"
            )
    else:
        if train_count == 0:
            errors.append("no training examples")
        if train_count > VERTEX_MAX_EXAMPLES:
            errors.append(f"{train_count:,} training examples; Vertex AI accepts at most {VERTEX_MAX_EXAMPLES:,}")
        if validation_count > VERTEX_MAX_VALIDATION_EXAMPLES:
            errors.append(
                f"{validation_count:,} validation examples; Vertex AI accepts at most "
                f"{VERTEX_MAX_VALIDATION_EXAMPLES:,}"
            )
        if train_bytes > VERTEX_MAX_FILE_BYTES:
            errors.append(
                f"the training file is {train_bytes:,} bytes; Vertex AI accepts at most 1 GB "
                f"({VERTEX_MAX_FILE_BYTES:,} bytes)"
            )
    return errors, warnings
