"""Load evaluation examples and format their inputs exactly like the training data.

The prompt-template rule:

* A **dict** from the dataset operators (validate report, upload result: ``validation_dataset_uri``) points
  at a *staged* file whose inputs already went through the template recorded in the dict's
  ``prompt_template``. Inputs are sent as they are. Passing a different ``prompt_template`` is an error
  (it would format them twice).
* A **URI string** or **inline list** is raw. The template is ``prompt_template`` if given, else the one the
  tuning summary passed as ``model`` records; it is applied with the same code the dataset operators use
  (:class:`~gemini_tuning.datasets.rules.ExampleChecker`). Exception: a URI equal to the model summary's own
  ``validation_dataset_uri``/``training_dataset_uri`` is staged, hence already templated.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gemini_tuning.evaluation.inputs import ModelUnderTest, is_handoff, read_staged_dataset
from gemini_tuning.exceptions import InvalidInputError

MAX_LISTED = 10


class EvaluationDatasetError(InvalidInputError):
    """The evaluation dataset cannot be used (unreadable, malformed records, conflicting template)."""


@dataclass(frozen=True, slots=True)
class EvalExample:
    index: int  # 0-based position in the evaluation
    line: int  # 1-based line (record) in the source
    input: str
    expected: str
    system_instruction: str | None = None
    non_text: tuple[str, ...] = ()


@dataclass(slots=True)
class EvalDataset:
    examples: list[EvalExample]
    source: str  # URI or "<inline>"
    prompt_template: str | None  # recorded (staged data) or applied here (raw data)
    template_applied: bool  # whether this module applied the template
    total: int  # records in the source (before max_examples)


def resolve_dataset(
    dataset: Any,
    *,
    prompt_template: str | None = None,
    model: ModelUnderTest | None = None,
    max_examples: int | None = None,
) -> EvalDataset:
    """Resolve ``dataset`` (URI, ``ObjectStoragePath``, dataset report dict or list; JSON text of a list too)."""
    model = model or ModelUnderTest(name="")
    if is_handoff(dataset):
        staged = read_staged_dataset(dataset)
        if not staged.validation_dataset_uri:
            raise EvaluationDatasetError(
                "the dataset report names no validation file (validation_dataset_uri); "
                "stage one with ValidateTuningDatasetOperator(validation_fraction=...)"
            )
        recorded = staged.prompt_template
        if prompt_template is not None and prompt_template != recorded:
            raise EvaluationDatasetError(
                f"prompt_template={prompt_template!r} conflicts with the dataset's recorded template {recorded!r}: "
                "its staged inputs are already formatted like the training data. Drop prompt_template, or pass "
                "the raw data (a URI or list) to have a template applied."
            )
        return _load(staged.validation_dataset_uri, template=None, recorded=recorded, max_examples=max_examples)
    if isinstance(dataset, str) and dataset.lstrip().startswith("["):
        dataset = json.loads(dataset)
    template = prompt_template if prompt_template is not None else model.prompt_template
    if isinstance(dataset, (list, tuple)):
        return _load(list(dataset), template=template, recorded=None, max_examples=max_examples)
    if isinstance(dataset, str) or hasattr(dataset, "protocol"):
        uri = str(dataset)
        if uri in model.staged_uris:
            if prompt_template is not None and prompt_template != model.prompt_template:
                raise EvaluationDatasetError(
                    f"{uri} is the tuning job's staged file (template {model.prompt_template!r} already applied); "
                    f"prompt_template={prompt_template!r} would format its inputs again"
                )
            return _load(uri, template=None, recorded=model.prompt_template, max_examples=max_examples)
        return _load(uri, template=template, recorded=None, max_examples=max_examples)
    raise EvaluationDatasetError(
        f"unsupported dataset of type {type(dataset).__name__}: pass a URI, a list of examples or the dict "
        "returned by the dataset operators"
    )


def _load(source: Any, *, template: str | None, recorded: str | None, max_examples: int | None) -> EvalDataset:
    if max_examples is not None and max_examples < 1:
        raise EvaluationDatasetError(f"max_examples must be at least 1, got {max_examples}")
    checker = _template_checker(template)
    label = "<inline>" if isinstance(source, list) else source
    examples, total = _collect(_records(source, checker), checker, label, max_examples)
    if not examples:
        raise EvaluationDatasetError(f"{label} holds no examples")
    return EvalDataset(
        examples=examples,
        source=label,
        prompt_template=template if template is not None else recorded,
        template_applied=template is not None,
        total=total,
    )


def _template_checker(template: str | None) -> Any:
    """The dataset operators' checker, to apply ``template`` exactly as for training (``None``: no template)."""
    if template is None:
        return None
    from gemini_tuning.datasets.rules import FORMATTING_ONLY, ExampleChecker

    try:
        # the formatting without any service's training limits (the tuned-model limits are checked apart)
        return ExampleChecker(FORMATTING_ONLY, prompt_template=template)
    except (ValueError, InvalidInputError) as exc:  # a malformed template
        raise EvaluationDatasetError(str(exc)) from None


def _records(source: Any, checker: Any) -> Iterable[tuple]:
    from gemini_tuning.datasets.errors import DatasetUsageError
    from gemini_tuning.datasets.readers import infer_format, read_records

    try:
        fmt = infer_format(source)
        columns = [*checker.placeholders, "output"] if checker and fmt == "csv" else ()
        return read_records(source, fmt, columns=columns)
    except DatasetUsageError as exc:
        raise EvaluationDatasetError(str(exc)) from None


def _collect(
    records: Iterable[tuple], checker: Any, label: str, max_examples: int | None
) -> tuple[list[EvalExample], int]:
    """The usable examples (the first ``max_examples``) and the count of records; every bad one is an error."""
    examples: list[EvalExample] = []
    problems: list[str] = []
    bad = total = 0
    for line, record, *_ in records:  # (line, record[, raw bytes]) depending on the reader
        total += 1
        if max_examples is not None and len(examples) >= max_examples:
            continue  # keep counting the source's records
        example, found = _example_of(record, checker, len(examples), line)
        if example is not None:
            examples.append(example)
        if found:
            bad += 1
            if bad <= MAX_LISTED:
                problems += [f"  - {label} line {line}: {p}" for p in found]
    if problems:
        more = f"\n  ... and {bad - MAX_LISTED} more records" if bad > MAX_LISTED else ""
        raise EvaluationDatasetError(f"{bad} evaluation records cannot be used:\n" + "\n".join(problems) + more)
    return examples, total


def _example_of(record: Any, checker: Any, index: int, line: int) -> tuple[EvalExample | None, list[str]]:
    """One record, templated when ``checker`` is given, as an example or its problems."""
    from gemini_tuning.datasets.readers import ReadError

    if isinstance(record, ReadError):
        return None, [f"{record.field}: {record.message}"]
    if checker is not None and isinstance(record, dict) and not _non_text_parts(record):
        normalized, _, _, checked = checker.check(record)
        if checked:
            return None, [f"{f}: {m}" for f, m in checked]
        record = normalized
    return _to_example(index, line, record)


def _non_text_parts(record: dict) -> list[str]:
    kinds = []
    for turn in record.get("contents") or ():
        for part in (turn.get("parts") or ()) if isinstance(turn, dict) else ():
            if isinstance(part, dict) and "text" not in part:
                kinds += [k for k in part if k not in kinds]
    return kinds


def _text(content: Any) -> str:
    return "".join(p.get("text", "") for p in content.get("parts") or () if isinstance(p, dict))


def _to_example(index: int, line: int, record: Any) -> tuple[EvalExample | None, list[str]]:
    if not isinstance(record, dict):
        return None, [f"must be a JSON object, got {type(record).__name__}"]
    if "contents" in record:
        contents = record["contents"]
        roles = [t.get("role") if isinstance(t, dict) else None for t in contents or ()]
        if roles != ["user", "model"]:
            return None, [f"only single-turn (user, model) examples can be evaluated; roles are {roles}"]
        system = record.get("systemInstruction") or record.get("system_instruction")
        return EvalExample(
            index,
            line,
            _text(contents[0]),
            _text(contents[1]),
            system_instruction=_text(system) if isinstance(system, dict) else None,
            non_text=tuple(_non_text_parts(record)),
        ), []
    text_input = record.get("text_input", record.get("textInput"))
    output = record.get("output")
    if not isinstance(text_input, str) or not isinstance(output, str):
        return None, ['expected string fields "text_input" and "output", or "contents"']
    return EvalExample(index, line, text_input, output), []
