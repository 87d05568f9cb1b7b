"""The dataset hand-offs: the validate operator's :class:`ValidationReport` and the upload operator's
:class:`UploadResult` (see docs/xcom.md).

Both carry the fields of :class:`StagedDataset`, which is what the tuning and evaluation steps read: consumers
call ``StagedDataset.parse(value)`` and accept either.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from gemini_tuning.contracts.base import XComContract


class StagedDataset(XComContract):
    """A validated dataset staged for one backend: where its files are and what was applied to them."""

    kind: ClassVar[str] = "staged dataset (the output of ValidateTuningDatasetOperator or UploadTuningDatasetOperator)"

    backend: str
    training_dataset_uri: str
    validation_dataset_uri: str | None = None
    train_count: int
    validation_count: int = 0
    sha256: str
    prompt_template: str | None = None
    staging_dir: str | None = (
        None  # where outputs about this dataset go (plots, evaluations): never the source's folder
    )


class Problem(BaseModel):
    """``path:line: field: message``; line 0 is the whole dataset."""

    path: str
    line: int
    field: str
    message: str


class RepeatedProblem(BaseModel):
    """A problem seen on many rows: listed for the first few, then summarized here with the rest's count."""

    field: str
    message: str
    count: int


class CharStats(BaseModel):
    """Nearest-rank statistics of text lengths (characters) over the kept examples."""

    min: int | None = None
    median: int | None = None
    p95: int | None = None
    max: int | None = None


class ValidationReport(StagedDataset):
    """What ``ValidateTuningDatasetOperator`` returns (and ``gemini-tuning validate --json`` prints).

    ``valid + rejected == total``; the staged fields are ``None`` when nothing was staged (the CLI).
    """

    kind: ClassVar[str] = "validation report (the output of ValidateTuningDatasetOperator)"

    training_dataset_uri: str | None = None
    train_count: int = 0
    sha256: str | None = None
    ok: bool
    format: str
    source: str
    total: int
    valid: int
    rejected: int
    rejected_fraction: float = 0.0
    duplicates: int = 0
    deduplicated: int = 0
    conflicting_outputs: int = 0
    converted: int = 0  # kept examples rebuilt in the backend's format (or through prompt_template)
    train_bytes: int = 0
    validation_bytes: int = 0
    train_sha256: str | None = None
    validation_sha256: str | None = None
    staged: bool = False
    rejects_uri: str | None = None
    on_invalid: str = "fail"
    max_rejected_fraction: float
    validation_fraction: float = 0.0
    seed: int = 0
    deduplicate: bool = False
    input_chars: CharStats = CharStats()
    output_chars: CharStats = CharStats()
    warnings: list[str] = []
    errors: list[str] = []
    problem_count: int = 0
    problems: list[Problem] = []
    repeated_problems: list[RepeatedProblem] = []


class UploadResult(StagedDataset):
    """What ``UploadTuningDatasetOperator`` returns: the dataset where its backend reads it.

    ``uploaded`` says whether this run copied anything (a rerun finds the files in place).
    """

    kind: ClassVar[str] = "upload result (the output of UploadTuningDatasetOperator)"

    uploaded: bool = False
