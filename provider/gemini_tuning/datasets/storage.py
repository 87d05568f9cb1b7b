"""Resolve dataset locations: local paths stay ``pathlib.Path``, anything with a scheme is an ``ObjectStoragePath``.

Local files skip the Airflow import (which costs seconds and ~100 MB), so ``gemini-tuning validate`` on a
local file starts fast; ``memory://`` is attached on first use so tests and inline pipelines work.
Every way a source can fail to open (missing, a directory, an unknown or uninstalled scheme, no permission)
becomes one :class:`~gemini_tuning.datasets.errors.DatasetUsageError` line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

CHUNK_SIZE = 1 << 20
LOCAL_SCHEMES = ("", "file", "local")


def usage_error(message: str) -> Exception:
    """A :class:`~gemini_tuning.datasets.errors.DatasetUsageError` (imported only when something is wrong)."""
    from gemini_tuning.datasets.errors import DatasetUsageError

    return DatasetUsageError(message)


def as_path(location: Any) -> Any:
    """Return a path object for a local path, ``file://`` URI, any other URI or an ``ObjectStoragePath``."""
    if isinstance(location, Path):
        return location
    if not isinstance(location, str):
        if getattr(location, "protocol", None) == "memory":
            _attach_memory()
        return location  # an ObjectStoragePath (or another UPath) already
    scheme = urlsplit(location).scheme
    if scheme in LOCAL_SCHEMES or (len(scheme) == 1 and os.name == "nt"):
        return Path(location[len(scheme) + 3 :] if scheme else location).expanduser()
    if scheme == "memory":
        _attach_memory()
    from airflow.sdk import ObjectStoragePath

    try:
        return ObjectStoragePath(location)
    except ValueError as exc:  # fsspec: "Unsupported filesystem" / "Protocol not known"
        raise usage_error(f"{location}: unsupported URI scheme {scheme + '://'!r} ({exc})") from None


def open_source(location: Any) -> IO[bytes]:
    """Open a dataset file for binary reading; every failure is one usage error naming the location."""
    try:
        path = as_path(location)
        if not path.exists():
            raise usage_error(f"{location}: no such file")
        if path.is_dir():
            raise usage_error(f"{location}: is a directory; pass a file")
        return path.open("rb")
    except ImportError as exc:  # fsspec: "Please install gcsfs to access Google Storage"
        scheme = urlsplit(str(location)).scheme
        raise usage_error(f"{location}: reading {scheme}:// needs an extra package: {exc}") from None
    except PermissionError:
        raise usage_error(f"{location}: permission denied") from None
    except OSError as exc:
        raise usage_error(f"{location}: cannot be read: {exc.strerror or exc}") from None


def uri_of(path: Any) -> str:
    """A URI string for a path object (``file:///abs/path`` for local files)."""
    if isinstance(path, Path):
        return path.absolute().as_uri()
    return str(path)


def size_of(path: Any) -> int:
    """Size in bytes."""
    st = path.stat()
    return int(st.st_size if hasattr(st, "st_size") else st["size"])


def copy_file(src: Any, dst: Any) -> None:
    """Stream ``src`` to ``dst`` in 1 MiB chunks (any mix of local and object-storage paths)."""
    if isinstance(dst, Path):
        dst.parent.mkdir(parents=True, exist_ok=True)
    else:
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
        except Exception:  # object stores without directories
            pass
    with src.open("rb") as fin, dst.open("wb") as fout:
        while chunk := fin.read(CHUNK_SIZE):
            fout.write(chunk)


def _attach_memory() -> None:
    from airflow.sdk.io import attach, has_fs

    if not has_fs("memory"):
        import fsspec

        attach("memory", fs=fsspec.filesystem("memory"))
