"""The dataset engine: read -> check -> de-duplicate -> split -> stage -> report, in one streaming pass.

Used by ``ValidateTuningDatasetOperator`` and ``gemini-tuning validate``. Memory stays bounded: examples are
spooled to local temporary files, de-duplication keeps 64-bit hashes (of at most
``MAX_TRACKED_INPUTS`` inputs) and length statistics are histograms.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from gemini_tuning.datasets.formats import BACKENDS
from gemini_tuning.datasets.readers import DatasetUsageError, ReadError, infer_format, read_records
from gemini_tuning.datasets.rules import ExampleChecker, dataset_checks
from gemini_tuning.datasets.staging import stage_files
from gemini_tuning.datasets.storage import as_path, uri_of

MAX_TRACKED_INPUTS = 1_000_000  # Vertex AI's example limit; a larger dataset is invalid for both backends


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem: ``path:line: field: message`` (line 0 for dataset-level problems)."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


class DatasetValidationError(ValueError):
    """The dataset is invalid; ``report`` holds the counts and the first problems."""

    def __init__(self, report: dict[str, Any]):
        self.report = report
        shown = report["problems"]
        lines = [
            f"Tuning dataset {report['source']} is invalid: {report['problem_count']} problem(s); "
            f"{report['rejected']} of {report['total']} examples rejected."
        ]
        lines += [f"  {p['path']}:{p['line']}: {p['field']}: {p['message']}" for p in shown]
        if report["problem_count"] > len(shown):
            lines.append(f"  ... and {report['problem_count'] - len(shown)} more")
        super().__init__("\n".join(lines))


@dataclass
class Options:
    """Everything that decides the result (and therefore the content hash)."""

    backend: str = "gemini_api"
    format: str | None = None
    input_column: str | None = None
    output_column: str | None = None
    prompt_template: str | None = None
    on_invalid: str = "fail"
    validation_fraction: float = 0.0
    seed: int = 0
    deduplicate: bool = False
    max_reported_problems: int = 20

    def check(self) -> None:
        if self.backend not in BACKENDS:
            raise DatasetUsageError(f"unknown backend {self.backend!r}; expected gemini_api or vertex_ai")
        if self.on_invalid not in ("fail", "skip"):
            raise DatasetUsageError(f"on_invalid must be 'fail' or 'skip', got {self.on_invalid!r}")
        if not 0.0 <= float(self.validation_fraction) < 1.0:
            raise DatasetUsageError(f"validation_fraction must be in [0, 1), got {self.validation_fraction}")


def char_stats(histogram: dict[int, int]) -> dict[str, int | None]:
    """Nearest-rank min / median / p95 / max from a ``{length: count}`` histogram."""
    n = sum(histogram.values())
    if not n:
        return {"min": None, "median": None, "p95": None, "max": None}
    lengths = sorted(histogram)
    ranks = {"median": (n + 1) // 2, "p95": -(-95 * n // 100)}
    out: dict[str, int | None] = {"min": lengths[0], "median": None, "p95": None, "max": lengths[-1]}
    seen = 0
    for length in lengths:
        seen += histogram[length]
        for key, rank in ranks.items():
            if out[key] is None and seen >= rank:
                out[key] = length
    return out


def validate_dataset(
    source: Any,
    options: Options | None = None,
    *,
    staging_uri: Any = None,
    rejects_uri: Any = None,
    on_problem: Callable[[Problem], None] | None = None,
) -> dict[str, Any]:
    """Validate ``source`` and, when ``staging_uri`` is given and the data is valid, stage normalized files.

    Returns the JSON-safe report (``report["ok"]`` says whether the dataset is usable). ``rejects_uri``
    writes every rejected record with its problems; with ``staging_uri`` and ``on_invalid="skip"`` rejects
    are staged next to the dataset. ``on_problem`` is called for every problem as it is found.
    Raises :class:`DatasetUsageError` when the source cannot be read at all.
    """
    o = options or Options()
    o.check()
    fmt = infer_format(source, o.format)
    try:
        checker = ExampleChecker(
            o.backend, input_column=o.input_column, output_column=o.output_column, prompt_template=o.prompt_template
        )
    except ValueError as exc:
        raise DatasetUsageError(str(exc)) from None
    if fmt == "inline":
        label = "<inline>"
    else:
        label = source if isinstance(source, str) else uri_of(as_path(source))
    columns = [*(checker.placeholders or [o.input_column or "text_input"]), checker.output_column]
    records = read_records(source, fmt, columns=columns)

    max_reported = o.max_reported_problems
    problems: list[Problem] = []
    counts = {"problems": 0}

    def report_problem(problem: Problem) -> None:
        counts["problems"] += 1
        if len(problems) < max_reported:
            problems.append(problem)
        if on_problem is not None:
            on_problem(problem)

    keep_rejects = rejects_uri is not None or (staging_uri is not None and o.on_invalid == "skip")
    with tempfile.TemporaryDirectory(prefix="gemini-tuning-") as tmp:
        spool = {name: os.path.join(tmp, f"{name}.jsonl") for name in ("train", "validation", "rejects")}
        staging = staging_uri is not None
        train_f = open(spool["train"], "wb") if staging else None
        val_f = open(spool["validation"], "wb") if staging else None
        rejects_f = open(spool["rejects"], "wb") if keep_rejects else None
        try:
            stats = _stream(records, checker, o, label, report_problem, train_f, val_f, rejects_f)
        finally:
            for f in (train_f, val_f, rejects_f):
                if f is not None:
                    f.close()

        errors, warnings = dataset_checks(
            o.backend,
            train_count=stats["train_count"],
            validation_count=stats["validation_count"],
            train_bytes=stats["train_bytes"],
        )
        warnings = stats.pop("warnings") + warnings
        for message in errors:
            report_problem(Problem(label, 0, "dataset", message))
        ok = not errors and (stats["rejected"] == 0 or o.on_invalid == "skip")
        sha = None
        if staging:  # the dataset's address: both staged files, in order
            sha = hashlib.sha256(f"{stats['train_sha256']}:{stats['validation_sha256']}".encode()).hexdigest()
        report: dict[str, Any] = {
            "ok": ok,
            "backend": o.backend,
            "format": fmt,
            "source": label,
            **{k: v for k, v in stats.items() if not k.endswith("_hist")},
            "sha256": sha,
            "prompt_template": o.prompt_template,
            "validation_fraction": float(o.validation_fraction),
            "seed": o.seed,
            "deduplicate": o.deduplicate,
            "input_chars": char_stats(stats["input_hist"]),
            "output_chars": char_stats(stats["output_hist"]),
            "train_uri": None,
            "validation_uri": None,
            "rejects_uri": None,
            "warnings": warnings,
            "errors": errors,
            "problem_count": counts["problems"],
            "problems": [asdict(p) for p in problems],
        }
        if rejects_uri is not None and stats["rejected"]:
            dest = as_path(rejects_uri)
            from gemini_tuning.datasets.storage import copy_file

            copy_file(as_path(spool["rejects"]), dest)
            report["rejects_uri"] = uri_of(dest)
        if staging and ok:
            report.update(
                stage_files(
                    staging_uri,
                    sha,
                    train=spool["train"],
                    validation=spool["validation"] if stats["validation_count"] else None,
                    rejects=spool["rejects"] if stats["rejected"] and o.on_invalid == "skip" else None,
                )
            )
    return report


def _controls_possible(raw: bytes | None) -> bool:
    """Whether decoded values may hold control characters. A JSON line can only produce them through
    ``\\uXXXX``, ``\\b`` or ``\\f`` escapes (raw C0 bytes are invalid JSON) or a raw DEL byte."""
    if raw is None:
        return True
    if b"\x7f" in raw:
        return True
    return b"\\" in raw and (b"\\u" in raw or b"\\b" in raw or b"\\f" in raw)


def _stream(records, checker, o: Options, label, report_problem, train_f, val_f, rejects_f) -> dict[str, Any]:
    """The hot loop: cheap checks first, no serialization unless staging.

    De-duplication keys are Python's 64-bit string hashes (exact within a run, no encoding needed); the
    train/validation split hashes the example's source bytes (a JSONL line) or its canonical JSON with
    CRC-32 seeded by ``seed``, spread over 64 bits by a Fibonacci multiply, so it is stable across runs and machines. Without staging, sizes are those of the source lines.
    """
    check = checker.check
    staging = train_f is not None
    serialize = json.JSONEncoder(ensure_ascii=False).encode
    canonical = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode
    crc32 = zlib.crc32
    train_sha, val_sha = hashlib.sha256(), hashlib.sha256()
    split = float(o.validation_fraction) > 0
    threshold = int(float(o.validation_fraction) * (1 << 64))
    seed32 = zlib.crc32(str(o.seed).encode())
    seen: dict[int, int] = {}
    tracking_capped = False
    in_hist: dict[int, int] = {}
    out_hist: dict[int, int] = {}
    total = valid = rejected = duplicates = conflicts = removed = 0
    train_count = val_count = train_bytes = val_bytes = 0

    for line, item, raw in records:
        total += 1
        if type(item) is ReadError:
            row_problems, source = [(item.field, item.message)], item.raw
        else:
            if raw is None:
                controls = True
            else:  # see _controls_possible, inlined
                controls = b"\x7f" in raw or (b"\\" in raw and (b"\\u" in raw or b"\\b" in raw or b"\\f" in raw))
            example, inp, out, row_problems = check(item, controls, staging or raw is None)
            source = item
        if row_problems:
            rejected += 1
            for field, message in row_problems:
                report_problem(Problem(label, line, field, message))
            if rejects_f is not None:
                entry = {
                    "line": line,
                    "problems": [{"field": f, "message": m} for f, m in row_problems],
                    "record": source,
                }
                rejects_f.write(json.dumps(entry, ensure_ascii=False, default=str).encode() + b"\n")
            continue
        valid += 1
        key_in = hash(inp.strip())
        key_out = hash(out.strip())
        previous = seen.get(key_in)
        if previous is None:
            if len(seen) < MAX_TRACKED_INPUTS:
                seen[key_in] = key_out
            else:
                tracking_capped = True
        elif previous == key_out:
            duplicates += 1
            if o.deduplicate:
                removed += 1
                continue
        else:
            conflicts += 1
        n = len(inp)
        in_hist[n] = in_hist.get(n, 0) + 1
        n = len(out)
        out_hist[n] = out_hist.get(n, 0) + 1
        if staging:
            data = serialize(example).encode() + b"\n"
            size = len(data)
        else:
            size = len(raw) + 1 if raw is not None else len(serialize(example).encode()) + 1
        if split:
            content = crc32(raw if raw is not None else canonical(item).encode(), seed32)
            to_validation = (content * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF < threshold
        else:
            to_validation = False
        if to_validation:
            val_count += 1
            val_bytes += size
            if staging:
                val_sha.update(data)
                val_f.write(data)
        else:
            train_count += 1
            train_bytes += size
            if staging:
                train_sha.update(data)
                train_f.write(data)

    warnings = []
    if duplicates:
        action = "removed" if o.deduplicate else "kept; pass deduplicate=True to drop them"
        warnings.append(f"{duplicates} duplicate example(s) (same input and output as an earlier one), {action}")
    if conflicts:
        warnings.append(f"{conflicts} example(s) repeat an earlier input with a different output")
    if tracking_capped:
        warnings.append(f"duplicate detection covered the first {MAX_TRACKED_INPUTS:,} distinct inputs only")
    return {
        "total": total,
        "valid": valid,
        "rejected": rejected,
        "duplicates": duplicates,
        "deduplicated": removed,
        "conflicting_outputs": conflicts,
        "train_count": train_count,
        "validation_count": val_count,
        "train_bytes": train_bytes,
        "validation_bytes": val_bytes,
        "train_sha256": train_sha.hexdigest() if staging else None,
        "validation_sha256": val_sha.hexdigest() if staging else None,
        "input_hist": in_hist,
        "output_hist": out_hist,
        "warnings": warnings,
    }
