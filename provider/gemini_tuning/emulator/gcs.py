"""``gs://`` on local disk: ``gs://bucket/key`` <-> ``{root}/bucket/key``.

The emulator reads Vertex training files through :func:`local_path`; tests and demos write
them with fsspec or Airflow's ``ObjectStoragePath`` after :func:`register_gcs_emulator`.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

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
    ``gs://bucket/key``) while every operation lands under ``current_root``. The root is read on
    each call, so re-pointing it (:func:`register_gcs_emulator` again) also re-points the
    instances Airflow has already attached.
    """

    protocol = ("gs", "gcs")
    sep = "/"  # a plain attribute: universal_pathlib reads it from the class
    root_marker = ""
    cachable = False
    current_root: ClassVar[str] = ""

    def __init__(self, *args: Any, **storage_options: Any) -> None:
        # Storage options meant for gcsfs (token, project, ...) are irrelevant here.
        if not self.current_root:
            raise RuntimeError("gs:// is not mapped to a local directory: call register_gcs_emulator(root) first.")
        super().__init__(path=self.current_root, fs=LocalFileSystem(auto_mkdir=True))

    @property
    def path(self) -> str:
        return type(self).current_root

    @path.setter
    def path(self, value: str) -> None:
        """DirFileSystem sets the root once; this class always reads ``current_root`` instead."""

    def unstrip_protocol(self, name: str) -> str:
        return "gs://" + self._strip_protocol(name)


def register_gcs_emulator(root: str, conn_ids: tuple[str, ...] = ("google_cloud_default",)) -> type:
    """Make ``gs://`` (fsspec and Airflow ``ObjectStoragePath``) read and write under ``root``.

    Registers :class:`EmulatedGCSFileSystem` for the ``gs``/``gcs`` protocols with fsspec and,
    when the Airflow SDK is importable, attaches it with Airflow's public
    ``airflow.sdk.io.attach`` for those protocols with no connection and with each of
    ``conn_ids``, so no Google connection is needed. Calling it again re-points ``gs://`` at
    the new root (also for stores already attached). Returns the registered class.
    """
    root = os.path.abspath(root)
    os.makedirs(root, exist_ok=True)
    EmulatedGCSFileSystem.current_root = root
    for protocol in ("gs", "gcs"):
        fsspec.register_implementation(protocol, EmulatedGCSFileSystem, clobber=True)
    try:
        from airflow.sdk.io import attach
    except ImportError:  # pragma: no cover - Airflow is optional for the emulator itself
        return EmulatedGCSFileSystem
    for protocol in ("gs", "gcs"):
        for conn_id in (None, *conn_ids):
            store = attach(protocol=protocol, conn_id=conn_id, fs=EmulatedGCSFileSystem())
            _check_attached(store, protocol, conn_id)
    return EmulatedGCSFileSystem


def _check_attached(store: Any, protocol: str, conn_id: str | None) -> None:
    """``attach`` keeps the first store per protocol and connection: fail loudly if that is not ours."""
    try:
        ours = isinstance(store.fs, EmulatedGCSFileSystem)
    except (ValueError, ImportError):  # a store attached earlier without any gs filesystem
        ours = False
    if not ours:
        where = f"{protocol}://{conn_id + '@' if conn_id else ''}"
        raise RuntimeError(
            f"Airflow already attached another filesystem for {where} in this process; "
            "call register_gcs_emulator() before the first gs:// ObjectStoragePath is used."
        )
