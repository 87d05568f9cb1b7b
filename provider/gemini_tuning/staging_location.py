"""Refuse a staging location that only one worker can read when the executor spreads tasks over workers.

Validate writes the staged JSONL; upload, tune and evaluate read it, possibly on another worker.
Under the Celery, Kubernetes or Edge executor (or any executor but the single-host ones) a
``file://`` staging URI is on one worker's disk, so the next task would not find the files. The
check reads ``[core] executor`` from Airflow's config; ``[gemini_tuning] staging_is_shared = True``
opts out for a filesystem mounted on every worker (NFS, EFS, Filestore, a shared volume).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from gemini_tuning.exceptions import InvalidInputError

#: Executors that run every task on the host of the scheduler: one disk.
SINGLE_HOST_EXECUTORS = frozenset({"LocalExecutor", "SequentialExecutor", "DebugExecutor", "InProcessExecutor"})
#: URI schemes whose files live on one host (``memory://`` even in one process).
HOST_LOCAL_SCHEMES = frozenset({"", "file", "local", "memory"})


def executor_names(setting: str) -> list[str]:
    """Class names in an ``[core] executor`` value: ``"LocalExecutor,my:pkg.mod.CeleryExecutor"`` -> both names."""
    names = []
    for entry in setting.split(","):
        entry = entry.strip()
        if entry:
            names.append(entry.rsplit(":", 1)[-1].rsplit(".", 1)[-1])  # drop an alias and the module path
    return names


def spreading_executors(setting: str) -> list[str]:
    """The configured executors that may run a DAG's tasks on different hosts."""
    return [name for name in executor_names(setting) if name not in SINGLE_HOST_EXECUTORS]


def is_host_local(uri: Any) -> bool:
    """Whether ``uri`` (a string, ``Path`` or ``ObjectStoragePath``) is on this host's disk or memory."""
    protocol = getattr(uri, "protocol", None)
    if isinstance(protocol, str):  # an ObjectStoragePath / UPath
        return protocol in HOST_LOCAL_SCHEMES
    scheme = urlsplit(str(uri)).scheme
    return scheme in HOST_LOCAL_SCHEMES or len(scheme) == 1  # a Windows drive letter


def check_staging_location(uri: Any, *, what: str = "staging location") -> None:
    """Raise :class:`InvalidInputError` (one line) if ``uri`` is host-local under an executor that spreads tasks.

    Does nothing when the staging location is shared (``[gemini_tuning] staging_is_shared``) or
    every configured executor runs tasks on one host.
    """
    if uri is None or not is_host_local(uri):
        return
    from airflow.sdk import conf

    if conf.getboolean("gemini_tuning", "staging_is_shared", fallback=False):
        return
    setting = conf.get("core", "executor", fallback="LocalExecutor") or "LocalExecutor"
    spreading = spreading_executors(setting)
    if not spreading:
        return
    raise InvalidInputError(
        f"The {what} {uri} is on one worker's local disk, but the {', '.join(spreading)} runs tasks on "
        "several workers, so the next task would not find the files: set [gemini_tuning] staging_uri "
        "to a gs://, s3:// or other shared location (or [gemini_tuning] staging_is_shared = True if "
        "this path is a filesystem mounted on every worker)."
    )
