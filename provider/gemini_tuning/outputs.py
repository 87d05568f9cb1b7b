"""Where a task writes the files it produces: under the staging location, one folder per DAG, run and task.

Never next to the user's source data, which may be a read-only or shared bucket::

    {[gemini_tuning] staging_uri}/{kind}/{dag_id}/{run_id}/{task_id}[-{map_index}]/
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any


def task_output_uri(context: Any, kind: str) -> str:
    """The folder URI for this task try's ``kind`` of output (e.g. ``"evaluations"``)."""
    from gemini_tuning.operators.dataset import default_staging_uri

    ti = context.get("ti")
    dag_run = context.get("dag_run")
    map_index = getattr(ti, "map_index", -1)
    parts = [
        getattr(ti, "dag_id", None) or "adhoc",
        getattr(dag_run, "run_id", None) or context.get("run_id") or "run",
        (getattr(ti, "task_id", None) or "task")
        + (f"-{map_index}" if map_index is not None and map_index >= 0 else ""),
    ]
    return "/".join([default_staging_uri().rstrip("/"), kind, *(_slug(part) for part in parts)])


def output_folder(location: Any) -> Any:
    """A path object for ``location`` (local path, URI or ``ObjectStoragePath``), created if the store has folders."""
    from gemini_tuning.datasets.storage import as_path

    path = as_path(location)
    if isinstance(path, Path):
        path.mkdir(parents=True, exist_ok=True)
        return path
    try:
        path.mkdir(parents=True, exist_ok=True)
    except Exception:  # object stores without directories
        pass
    return path


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("_") or "_"
