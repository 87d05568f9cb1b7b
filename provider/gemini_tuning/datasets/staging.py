"""Content-addressed writes: ``{base}/{sha256[:16]}/{name}``, skipped when already present with the same size."""

from __future__ import annotations

import hashlib
import os
from typing import Any

from gemini_tuning.datasets.storage import as_path, copy_file, size_of, uri_of


def put_if_absent(src: Any, dest: Any) -> bool:
    """Copy ``src`` to ``dest`` unless ``dest`` exists with the same size. Returns whether it wrote."""
    src, dest = as_path(src), as_path(dest)
    if dest.exists() and size_of(dest) == size_of(src):
        return False
    copy_file(src, dest)
    return True


def file_sha256(path: Any) -> str:
    """Streaming sha256 of a local or remote file."""
    digest = hashlib.sha256()
    with as_path(path).open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def stage_files(
    staging_uri: Any, sha256: str, *, train: str, validation: str | None = None, rejects: str | None = None
) -> dict[str, Any]:
    """Stage local spool files under ``{staging_uri}/{sha256[:16]}/``.

    The rejects file is named by its own hash (``rejects-{sha[:16]}.jsonl``) since different invalid rows can
    accompany the same valid data. Returns ``train_uri``, ``validation_uri``, ``rejects_uri`` and ``staged``
    (whether anything was written).
    """
    base = as_path(staging_uri) / sha256[:16]
    out: dict[str, Any] = {"train_uri": None, "validation_uri": None, "rejects_uri": None, "staged": False}
    files = {"train_uri": (train, "train.jsonl"), "validation_uri": (validation, "validation.jsonl")}
    if rejects is not None:
        files["rejects_uri"] = (rejects, f"rejects-{file_sha256(rejects)[:16]}.jsonl")
    for key, (local, name) in files.items():
        if local is None or not os.path.exists(local):
            continue
        dest = base / name
        out["staged"] |= put_if_absent(local, dest)
        out[key] = uri_of(dest)
    return out
