"""The dataset engine: read -> check -> de-duplicate -> split -> stage -> report, in one streaming pass.

Used by ``ValidateTuningDatasetOperator``, ``CreateTuningJobOperator`` (for a raw file) and
``gemini-tuning validate``. Memory stays bounded: examples are spooled to local temporary files, de-duplication
keeps 64-bit hashes (of at most ``MAX_TRACKED_INPUTS`` inputs) and length statistics are histograms. The report
is a plain dict with the fields of :class:`gemini_tuning.contracts.dataset.ValidationReport` (this module does not
import Airflow, so the CLI starts fast).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gemini_tuning.datasets.problems import Problem, ProblemLog
from gemini_tuning.datasets.readers import ReadError, infer_format, read_records
from gemini_tuning.datasets.rules import ExampleChecker, ExampleRules, dataset_checks
from gemini_tuning.datasets.sources import dataset_source
from gemini_tuning.datasets.staging import stage_files, stage_rejects
from gemini_tuning.datasets.storage import as_path, copy_file, uri_of, usage_error

MAX_TRACKED_INPUTS = 1_000_000  # Vertex AI's example limit; a larger dataset is invalid for both backends
DEFAULT_MAX_REJECTED_FRACTION = 0.05


@dataclass
class Options:
    """Everything that decides the result (and therefore the content hash). ``backend`` names one of
    :data:`gemini_tuning.backends.BACKEND_NAMES` (default: the first)."""

    backend: str | None = None
    format: str | None = None
    input_column: str | None = None
    output_column: str | None = None
    prompt_template: str | None = None
    on_invalid: str = "fail"
    max_rejected_fraction: float = DEFAULT_MAX_REJECTED_FRACTION
    validation_fraction: float = 0.0
    seed: int = 0
    deduplicate: bool = False
    max_reported_problems: int = 20

    @property
    def capabilities(self) -> Any:
        """The backend's :class:`~gemini_tuning.backends.Capabilities`: its limits and example format."""
        from gemini_tuning.backends import capabilities_for

        return capabilities_for(self.backend)

    def check(self) -> None:
        from gemini_tuning.backends import BACKEND_NAMES, DEFAULT_BACKEND

        self.backend = self.backend or DEFAULT_BACKEND
        if self.backend not in BACKEND_NAMES:
            raise usage_error(f"unknown backend {self.backend!r}; expected one of {', '.join(BACKEND_NAMES)}")
        if self.on_invalid not in ("fail", "skip"):
            raise usage_error(f"on_invalid must be 'fail' or 'skip', got {self.on_invalid!r}")
        if not 0.0 <= float(self.max_rejected_fraction) <= 1.0:
            raise usage_error(f"max_rejected_fraction must be in [0, 1], got {self.max_rejected_fraction}")
        if not 0.0 <= float(self.validation_fraction) < 1.0:
            raise usage_error(f"validation_fraction must be in [0, 1), got {self.validation_fraction}")


@dataclass
class Tally:
    """What the streaming pass counted."""

    total: int = 0
    valid: int = 0
    rejected: int = 0
    duplicates: int = 0
    deduplicated: int = 0
    conflicting_outputs: int = 0
    converted: int = 0
    train_count: int = 0
    validation_count: int = 0
    train_bytes: int = 0
    validation_bytes: int = 0
    fatal_line: int | None = None  # a reader stopped here: the rest of the file was not read
    input_hist: dict[int, int] = field(default_factory=dict)
    output_hist: dict[int, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


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

    Returns the JSON-safe report (``report["ok"]`` says whether the dataset is usable). ``rejects_uri`` writes
    every rejected record with its problems; with ``staging_uri`` they go to ``{staging_uri}/rejects/``.
    ``on_problem`` is called for every listed problem as it is found. Raises
    :class:`~gemini_tuning.datasets.errors.DatasetUsageError` when the source cannot be read at all.
    """
    o = options or Options()
    o.check()
    source = dataset_source(source)
    fmt = infer_format(source, o.format)
    checker = _checker(o)
    label = "<inline>" if fmt == "inline" else (source if isinstance(source, str) else uri_of(as_path(source)))
    reader_warnings: list[str] = []
    records = read_records(source, fmt, columns=checker.columns, warnings=reader_warnings)
    log = ProblemLog(label, o.max_reported_problems, on_problem)
    with tempfile.TemporaryDirectory(prefix="gemini-tuning-") as tmp:
        keep_rejects = staging_uri is not None or rejects_uri is not None
        with Spool(tmp, staging=staging_uri is not None, rejects=keep_rejects) as spool:
            tally = _stream(records, checker, o, log, spool)
        tally.warnings[:0] = reader_warnings
        report = _judge(tally, o, log, label=label, fmt=fmt, spool=spool)
        _write_outputs(report, spool, staging_uri=staging_uri, rejects_uri=rejects_uri)
    return report


def _checker(o: Options) -> ExampleChecker:
    try:
        return ExampleChecker(
            ExampleRules.of(o.capabilities),
            input_column=o.input_column,
            output_column=o.output_column,
            prompt_template=o.prompt_template,
        )
    except ValueError as exc:
        raise usage_error(str(exc)) from None


class Spool:
    """Local temporary files written while streaming: train and validation (when staging) and rejects."""

    def __init__(self, tmp: str, *, staging: bool, rejects: bool):
        self.paths = {name: os.path.join(tmp, f"{name}.jsonl") for name in ("train", "validation", "rejects")}
        self.staging = staging
        self.files = {
            name: open(path, "wb") if (rejects if name == "rejects" else staging) else None
            for name, path in self.paths.items()
        }
        self.sha256 = {"train": hashlib.sha256(), "validation": hashlib.sha256()}

    def writer(self, name: str) -> Callable[[bytes], None] | None:
        """``write(data)`` for a staged file, hashing what it writes (``None`` when not staging)."""
        f = self.files[name]
        if f is None:
            return None
        update, write = self.sha256[name].update, f.write

        def put(data: bytes) -> None:
            update(data)
            write(data)

        return put

    def reject(self, line: int, problems: list[tuple[str, str]], record: Any) -> None:
        """Write a rejected record with its problems (when rejects are kept)."""
        f = self.files["rejects"]
        if f is not None:
            entry = {"line": line, "problems": [{"field": n, "message": m} for n, m in problems], "record": record}
            f.write(json.dumps(entry, ensure_ascii=False, default=str).encode() + b"\n")

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        for f in self.files.values():
            if f is not None:
                f.close()


class Deduplicator:
    """Exact duplicates and conflicting outputs, by 64-bit string hashes (exact within a run)."""

    def __init__(self) -> None:
        self.seen: dict[int, int] = {}
        self.duplicates = self.conflicts = 0
        self.capped = False

    def is_duplicate(self, inp: str, out: str) -> bool:
        key_in, key_out = hash(inp.strip()), hash(out.strip())
        previous = self.seen.get(key_in)
        if previous is None:
            if len(self.seen) < MAX_TRACKED_INPUTS:
                self.seen[key_in] = key_out
            else:
                self.capped = True
            return False
        if previous == key_out:
            self.duplicates += 1
            return True
        self.conflicts += 1
        return False


def splitter(fraction: float, seed: int) -> Callable[[bytes | None, Any], bool] | None:
    """Whether an example goes to validation, from its source bytes (a JSONL line) or its canonical JSON.

    CRC-32 seeded by ``seed``, spread over 64 bits by a Fibonacci multiply: stable across runs and machines,
    independent of order, and exact duplicates land on the same side.
    """
    if not fraction:
        return None
    threshold = int(float(fraction) * (1 << 64))
    seed32 = zlib.crc32(str(seed).encode())
    crc32, canonical = zlib.crc32, json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode

    def to_validation(raw: bytes | None, item: Any) -> bool:
        content = crc32(raw if raw is not None else canonical(item).encode(), seed32)
        return (content * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF < threshold

    return to_validation


def _stream(records, checker: ExampleChecker, o: Options, log: ProblemLog, spool: Spool) -> Tally:
    """The hot loop: cheap checks first, no serialization unless staging. Sizes are the source lines' otherwise.

    Control characters can only come from a JSON line through ``\\uXXXX``, ``\\b`` or ``\\f`` escapes (raw C0
    bytes are invalid JSON) or a raw DEL byte, so most lines skip the scan.
    """
    t = Tally()
    check, staging, dedup, drop_duplicates = checker.check, spool.staging, Deduplicator(), o.deduplicate
    encode = json.JSONEncoder(ensure_ascii=False).encode
    to_validation = splitter(o.validation_fraction, o.seed)
    write = [spool.writer("train"), spool.writer("validation")]
    counts, sizes, in_hist, out_hist = [0, 0], [0, 0], t.input_hist, t.output_hist
    total = rejected = 0
    for line, item, raw in records:
        total += 1
        if type(item) is ReadError:
            problems = [(item.field, item.message)]
            if item.fatal:
                t.fatal_line = line
            item = item.raw
        else:
            controls = (
                raw is None or b"\x7f" in raw or (b"\\" in raw and (b"\\u" in raw or b"\\b" in raw or b"\\f" in raw))
            )
            example, inp, out, problems = check(item, controls, staging or raw is None)
        if problems:
            rejected += 1
            log.add_all(line, problems)
            spool.reject(line, problems, item)
            continue
        if dedup.is_duplicate(inp, out) and drop_duplicates:
            continue
        n = len(inp)
        in_hist[n] = in_hist.get(n, 0) + 1
        n = len(out)
        out_hist[n] = out_hist.get(n, 0) + 1
        if staging:
            data = encode(example).encode() + b"\n"
            size = len(data)
        else:
            size = len(raw) + 1 if raw is not None else len(encode(example).encode()) + 1
        side = 1 if to_validation is not None and to_validation(raw, item) else 0
        counts[side] += 1
        sizes[side] += size
        if staging:
            write[side](data)
    t.total, t.rejected, t.valid = total, rejected, total - rejected
    t.duplicates, t.conflicting_outputs = dedup.duplicates, dedup.conflicts
    t.deduplicated = dedup.duplicates if drop_duplicates else 0
    t.converted = checker.converted
    (t.train_count, t.validation_count), (t.train_bytes, t.validation_bytes) = counts, sizes
    t.warnings = _stream_warnings(t, drop_duplicates, dedup.capped)
    return t


def _stream_warnings(t: Tally, dropped: bool, capped: bool) -> list[str]:
    warnings = []
    if t.duplicates:
        action = "removed" if dropped else "kept; pass deduplicate=True to drop them"
        warnings.append(f"{t.duplicates} duplicate example(s) (same input and output as an earlier one), {action}")
    if t.conflicting_outputs:
        warnings.append(f"{t.conflicting_outputs} example(s) repeat an earlier input with a different output")
    if capped:
        warnings.append(f"duplicate detection covered the first {MAX_TRACKED_INPUTS:,} distinct inputs only")
    return warnings


def _dataset_errors(t: Tally, o: Options) -> tuple[list[str], list[str]]:
    """Dataset-level errors and warnings: the service's limits, a file read only in part, too many rejects."""
    errors, warnings = dataset_checks(
        o.capabilities, train_count=t.train_count, validation_count=t.validation_count, train_bytes=t.train_bytes
    )
    if t.fatal_line is not None:
        errors.append(
            f"reading stopped at line {t.fatal_line}: nothing after it was read or counted, so the dataset is "
            "refused whatever on_invalid says; fix the file there"
        )
    fraction = t.rejected / t.total if t.total else 0.0
    if o.on_invalid == "skip" and fraction > o.max_rejected_fraction:
        errors.append(
            f"{t.rejected:,} of {t.total:,} examples rejected ({fraction:.1%}), more than "
            f"max_rejected_fraction={o.max_rejected_fraction:g}; fix the data or raise max_rejected_fraction"
        )
    return errors, t.warnings + warnings


def _judge(t: Tally, o: Options, log: ProblemLog, *, label: str, fmt: str, spool: Spool) -> dict[str, Any]:
    """The report, before anything is written: counts, settings, verdict, problems."""
    errors, warnings = _dataset_errors(t, o)
    for message in errors:
        log.add(0, "dataset", message)
    ok = not errors and (t.rejected == 0 or o.on_invalid == "skip")
    sha = train_sha = validation_sha = None
    if spool.staging:  # the dataset's address: both staged files, in order
        train_sha, validation_sha = (spool.sha256[name].hexdigest() for name in ("train", "validation"))
        sha = hashlib.sha256(f"{train_sha}:{validation_sha}".encode()).hexdigest()
    return {
        "schema_version": 1,
        "ok": ok,
        "backend": o.backend,
        "format": fmt,
        "source": label,
        **{k: getattr(t, k) for k in ("total", "valid", "rejected", "duplicates", "deduplicated")},
        **{k: getattr(t, k) for k in ("conflicting_outputs", "converted", "train_count", "validation_count")},
        "train_bytes": t.train_bytes,
        "validation_bytes": t.validation_bytes,
        "rejected_fraction": round(t.rejected / t.total, 6) if t.total else 0.0,
        "sha256": sha,
        "train_sha256": train_sha,
        "validation_sha256": validation_sha,
        "staged": False,
        "staging_dir": None,
        "training_dataset_uri": None,
        "validation_dataset_uri": None,
        "rejects_uri": None,
        "prompt_template": o.prompt_template,
        "on_invalid": o.on_invalid,
        "max_rejected_fraction": float(o.max_rejected_fraction),
        "validation_fraction": float(o.validation_fraction),
        "seed": o.seed,
        "deduplicate": o.deduplicate,
        "input_chars": char_stats(t.input_hist),
        "output_chars": char_stats(t.output_hist),
        "warnings": warnings,
        "errors": errors,
        **log.to_report(),
    }


def _write_outputs(report: dict[str, Any], spool: Spool, *, staging_uri: Any, rejects_uri: Any) -> None:
    """Rejects to ``rejects_uri`` or under the staging location; a valid dataset's files to its staging dir."""
    if report["rejected"]:
        if rejects_uri is not None:
            dest = as_path(rejects_uri)
            try:
                copy_file(as_path(spool.paths["rejects"]), dest)
            except OSError as exc:
                raise usage_error(f"{rejects_uri}: cannot write the rejects there: {exc.strerror or exc}") from None
            report["rejects_uri"] = uri_of(dest)
        elif staging_uri is not None:
            report["rejects_uri"] = stage_rejects(staging_uri, spool.paths["rejects"])
    if staging_uri is not None and report["ok"]:
        report.update(
            stage_files(
                staging_uri,
                report["sha256"],
                train=spool.paths["train"],
                validation=spool.paths["validation"] if report["validation_count"] else None,
            )
        )
