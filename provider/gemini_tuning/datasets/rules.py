"""Validation rules: per-example checks (:class:`ExampleChecker`) and dataset-level limits (:func:`dataset_checks`).

The limits and the example format come from the backend's capabilities (:mod:`gemini_tuning.backends`); this
module asks them, it does not know the services by name.
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class ExampleRules:
    """What one example must satisfy and the shape it is written in."""

    #: the service's name for messages, e.g. ``Gemini API``
    label: str
    #: write ``{"text_input", "output"}`` pairs (else chat ``contents``)
    text_pair: bool
    max_input_chars: int = 0
    max_output_chars: int = 0
    system_instruction: bool = True
    multi_turn: bool = True

    @classmethod
    def of(cls, capabilities: Any) -> ExampleRules:
        """The rules of a backend's :class:`~gemini_tuning.backends.Capabilities`."""
        limits = capabilities.limits
        return cls(
            label=capabilities.label,
            text_pair=capabilities.dataset_format == "text_pair",
            max_input_chars=limits.max_input_chars or 0,
            max_output_chars=limits.max_output_chars or 0,
            system_instruction=capabilities.system_instruction,
            multi_turn=capabilities.multi_turn,
        )


#: No service's limits, chat ``contents`` kept: formatting only (the evaluation step applies templates with it).
FORMATTING_ONLY = ExampleRules(label="formatting", text_pair=False)


def text_problems(field: str, value: Any, max_chars: int = 0, label: str = "") -> Problems:
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
        problems.append((field, f"is {len(value):,} characters; the {label} limit is {max_chars:,}"))
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
    """Checks one record against ``rules`` and returns it normalized to their shape.

    :meth:`check` returns ``(example, input_text, output_text, problems)``; ``example`` is ``None`` when
    there are problems. ``input_text`` / ``output_text`` feed de-duplication and length statistics.
    """

    def __init__(
        self,
        rules: ExampleRules,
        *,
        input_column: str | None = None,
        output_column: str | None = None,
        prompt_template: str | None = None,
    ):
        self.rules = rules
        self.input_column = input_column
        self.output_column = output_column or "output"
        self.template = prompt_template
        self.placeholders = template_fields(prompt_template) if prompt_template else []
        self.max_in, self.max_out = rules.max_input_chars, rules.max_output_chars
        # examples rebuilt from another shape (or through the template) rather than kept as they came
        self.converted = 0
        self._pair_converts = 0 if rules.text_pair and prompt_template is None and input_column is None else 1
        self._contents_converts = 1 if rules.text_pair or prompt_template is not None else 0

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
        label = self.rules.label
        if problems is None:
            problems = text_problems(in_field, inp, self.max_in, label)
        problems = problems + text_problems(out_field, out, self.max_out, label)
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
        if self.rules.text_pair:
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

    # --- chat contents (Vertex AI format) ---
    def _check_contents(self, record: dict) -> tuple[dict | None, str, str, Problems]:
        turns, problems = self._turns(record["contents"])
        system_texts, system_problems = self._system(record.get("systemInstruction"))
        problems += system_problems
        if not self.rules.multi_turn and len(turns) != 2 and not problems:
            problems.append(
                (
                    "contents",
                    f"has {len(turns)} turns; only single-turn (user, model) examples convert to the "
                    f"{self.rules.label} format",
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
        return self._contents_example(turns, system_texts, inp, out)

    def _turns(self, contents: Any) -> tuple[list[tuple[str, list[str]]], Problems]:
        """The ``(role, texts)`` of each turn: roles alternate from ``user`` and end with ``model``."""
        if type(contents) is not list or not contents:
            return [], [("contents", "must be a non-empty list of turns")]
        turns: list[tuple[str, list[str]]] = []
        problems: Problems = []
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
        return turns, problems

    def _system(self, system: Any) -> tuple[list[str], Problems]:
        if system is None:
            return [], []
        if not self.rules.system_instruction:
            message = f"is not supported by {self.rules.label} tuning (tuned models do not support system instructions)"
            return [], [("systemInstruction", message)]
        if type(system) is not dict:
            return [], [("systemInstruction", f"must be an object, got {json_type(system)}")]
        return self._parts("systemInstruction", system.get("parts"))

    def _contents_example(
        self, turns: list[tuple[str, list[str]]], system_texts: list[str], inp: str, out: str
    ) -> tuple[dict | None, str, str, Problems]:
        """The checked example in the rules' shape (a text pair is checked against the length limits)."""
        if self.rules.text_pair:
            label = self.rules.label
            bad = text_problems("contents[0].parts", inp, self.max_in, label) + text_problems(
                "contents[1].parts", out, self.max_out, label
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
    capabilities: Any, *, train_count: int, validation_count: int, train_bytes: int
) -> tuple[list[str], list[str]]:
    """Dataset-level limits of a backend's capabilities: returns ``(errors, warnings)``."""
    limits, label = capabilities.limits, capabilities.label
    errors, warnings = [], []
    if train_count < limits.min_examples:
        errors.append(f"{train_count:,} training examples; {label} tuning needs at least {limits.min_examples:,}")
    elif limits.recommended_examples and train_count < limits.recommended_examples[0]:
        low, high = limits.recommended_examples
        warnings.append(f"only {train_count} training examples; {low}-{high} are recommended")
    if limits.max_examples is not None and train_count > limits.max_examples:
        errors.append(f"{train_count:,} training examples; {label} tuning accepts at most {limits.max_examples:,}")
    if limits.max_validation_examples is not None and validation_count > limits.max_validation_examples:
        errors.append(
            f"{validation_count:,} validation examples; {label} tuning accepts at most "
            f"{limits.max_validation_examples:,}"
        )
    if limits.max_training_bytes is not None and train_bytes > limits.max_training_bytes:
        what = "inline upload limit is" if capabilities.staging == "inline" else "training file limit is"
        errors.append(
            f"the training data is {train_bytes:,} bytes; the {label} {what} {decimal_size(limits.max_training_bytes)} "
            f"({limits.max_training_bytes:,} bytes)"
        )
    return errors, warnings


def decimal_size(n: int) -> str:
    """``4 MB`` / ``1 GB`` (decimal units, as the services state their limits)."""
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n:,} bytes"
