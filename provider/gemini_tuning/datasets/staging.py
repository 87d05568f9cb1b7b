"""The staging location: where every file this provider writes goes, never next to the user's source data.

Content-addressed writes: ``{staging_uri}/{sha256[:16]}/{name}``, skipped when already present with the same size.
``staging_uri`` defaults to ``[gemini_tuning] staging_uri``, else ``file://{AIRFLOW_HOME}/gemini_tuning/staging``.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from gemini_tuning.datasets.storage import as_path, copy_file, size_of, uri_of

#: the URI scheme each kind of ``Capabilities.staging`` reads training files from (``inline``: none, sent in the request)
_READ_SCHEMES = {"gcs": "gs://"}


def read_scheme(capabilities: Any) -> str | None:
    """Where the service reads training files from (``gs://``), or ``None`` when the examples go inline."""
    return _READ_SCHEMES.get(capabilities.staging)


def service_reads(capabilities: Any, uri: Any) -> bool:
    """Whether the service can read the file at ``uri`` itself."""
    scheme = read_scheme(capabilities)
    return scheme is not None and str(uri).startswith(scheme)


def default_staging_uri() -> str:
    """``[gemini_tuning] staging_uri`` or ``file://{AIRFLOW_HOME}/gemini_tuning/staging``."""
    from airflow.sdk import conf

    configured = conf.get("gemini_tuning", "staging_uri", fallback=None)
    if configured:
        return configured.rstrip("/")
    home = os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
    return f"file://{home}/gemini_tuning/staging"


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


def stage_files(staging_uri: Any, sha256: str, *, train: str, validation: str | None = None) -> dict[str, Any]:
    """Stage local spool files under ``{staging_uri}/{sha256[:16]}/``.

    Returns the report's ``training_dataset_uri``, ``validation_dataset_uri``, ``staging_dir`` and ``staged``
    (whether anything was written).
    """
    base = as_path(staging_uri) / sha256[:16]
    out: dict[str, Any] = {"staging_dir": uri_of(base), "staged": False, "validation_dataset_uri": None}
    files = {"training_dataset_uri": (train, "train.jsonl"), "validation_dataset_uri": (validation, "validation.jsonl")}
    for key, (local, name) in files.items():
        if local is None or not os.path.exists(local):
            continue
        dest = base / name
        out["staged"] |= put_if_absent(local, dest)
        out[key] = uri_of(dest)
    return out


def stage_rejects(staging_uri: Any, rejects: str) -> str:
    """Stage a rejects file as ``{staging_uri}/rejects/rejects-{its sha256[:16]}.jsonl``; return its URI."""
    dest = as_path(staging_uri) / "rejects" / f"rejects-{file_sha256(rejects)[:16]}.jsonl"
    put_if_absent(rejects, dest)
    return uri_of(dest)
