"""``gs://`` on local disk: ``gs://bucket/key`` <-> ``{root}/bucket/key``.

The emulator reads Vertex training files through :func:`local_path`; tests and demos write
them with fsspec or Airflow's ``ObjectStoragePath`` after :func:`register_gcs_emulator`.
"""

from __future__ import annotations

import os
from typing import Any

import fsspec
from fsspec.implementations.dirfs import DirFileSystem
from fsspec.implementations.local import LocalFileSystem


def local_path(root: str, uri: str) -> str:
    """Map ``gs://bucket/key`` to the local file under ``root`` (ValueError if not a gs URI)."""
    if not uri.startswith("gs://"):
        raise ValueError(f"not a gs:// URI: {uri!r}")
    bucket_key = uri[len("gs://") :].lstrip("/")
    if not bucket_key or ".." in bucket_key.split("/"):
        raise ValueError(f"invalid gs:// URI: {uri!r}")
    return os.path.join(root, *bucket_key.split("/"))


class EmulatedGCSFileSystem(DirFileSystem):
    """``gs://bucket/key`` served from ``{root}/bucket/key`` on local disk.

    A :class:`~fsspec.implementations.dirfs.DirFileSystem` over a local filesystem: paths keep
    their gcsfs-like ``bucket/key`` form (so ``str(ObjectStoragePath(...))`` stays
    ``gs://bucket/key``) while every operation lands under ``root``. Subclasses created by
    :func:`register_gcs_emulator` set ``root``.
    """

    protocol = ("gs", "gcs")
    sep = "/"  # a plain attribute: universal_pathlib reads it from the class
    root_marker = ""
    root: str = ""

    def __init__(self, *args: Any, **storage_options: Any) -> None:
        # Storage options meant for gcsfs (token, project, ...) are irrelevant here.
        super().__init__(path=self.root, fs=LocalFileSystem(auto_mkdir=True))

    def unstrip_protocol(self, name: str) -> str:
        return "gs://" + self._strip_protocol(name)


def register_gcs_emulator(root: str, conn_ids: tuple[str, ...] = ("google_cloud_default",)) -> type:
    """Make ``gs://`` (fsspec and Airflow ``ObjectStoragePath``) read and write under ``root``.

    Registers a filesystem class for the ``gs``/``gcs`` protocols with fsspec and, when the
    Airflow SDK is importable, attaches it to Airflow's object-store cache for those protocols
    with no connection and with each of ``conn_ids`` — so no Google connection is needed.
    Returns the registered class. Calling it again re-points ``gs://`` at the new root.
    """
    root = os.path.abspath(root)
    os.makedirs(root, exist_ok=True)
    cls = type("EmulatedGCSFileSystem", (EmulatedGCSFileSystem,), {"root": root, "cachable": False})
    for protocol in ("gs", "gcs"):
        fsspec.register_implementation(protocol, cls, clobber=True)
    try:
        from airflow.sdk.io.store import _STORE_CACHE, attach
    except ImportError:  # pragma: no cover - Airflow is optional for the emulator itself
        return cls
    fs = cls()
    for protocol in ("gs", "gcs"):
        for conn_id in (None, *conn_ids):
            alias = f"{protocol}-{conn_id}" if conn_id else protocol
            _STORE_CACHE.pop(alias, None)
            attach(protocol=protocol, conn_id=conn_id, fs=fs)
    return cls
